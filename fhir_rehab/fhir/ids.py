"""Input shapes checked at the edge: FHIR ids, submission ids, references, base URLs, free text."""

from __future__ import annotations

import math
import re
import unicodedata
from urllib.parse import urlsplit

# FHIR R4 `id` datatype: 1-64 of [A-Za-z0-9-.] (http://hl7.org/fhir/R4/datatypes.html#id).
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# A submission id (idempotency key): a UUID or similar token. It becomes an identifier value
# and a search parameter value, so no `&`, `=`, `|`, `,`, `$` or spaces can reach a query.
SUBMISSION_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Who is acting, as a relative reference (the CLI's --practitioner).
ACTOR_REFERENCE = re.compile(r"(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}")
MAX_FREE_TEXT = 500  # characters of a reason or note a person types (one paragraph)


def is_fhir_id(value: object) -> bool:
    """True for a FHIR logical id (whole string: a trailing newline is not an id).

    >>> is_fhir_id("p-1.2"), is_fhir_id("p1\\n"), is_fhir_id(""), is_fhir_id("a&_id=b")
    (True, False, False, False)
    """
    return isinstance(value, str) and FHIR_ID.fullmatch(value) is not None


def is_submission_id(value: object) -> bool:
    """True for a usable submission id.

    >>> is_submission_id("0b7c6f9e-1d2a-4c5b-9f00-0123456789ab"), is_submission_id("x&_id=1")
    (True, False)
    """
    return isinstance(value, str) and SUBMISSION_ID.fullmatch(value) is not None


def check_free_text(value: str, *, max_chars: int = MAX_FREE_TEXT, what: str = "The text") -> str:
    """The text stripped, or ValueError with a sentence for the person who typed it.

    Control characters other than line breaks and tabs are refused.

    >>> check_free_text("  Referred to spinal surgeon. ")
    'Referred to spinal surgeon.'
    >>> check_free_text("x" * 501)
    Traceback (most recent call last):
    ValueError: The text is too long: keep it under 500 characters (it has 501).
    """
    text = value.strip()
    if len(text) > max_chars:
        raise ValueError(f"{what} is too long: keep it under {max_chars} characters (it has {len(text)}).")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        raise ValueError(f"{what} contains control characters; type it again.")
    return text


def check_fhir_base(value: str) -> str:
    """A FHIR base URL the client can use (http or https, a host, no credentials, query or
    fragment), without its trailing slash; otherwise ValueError saying what is wrong.

    >>> check_fhir_base("https://hapi.fhir.org/baseR4/")
    'https://hapi.fhir.org/baseR4'
    >>> check_fhir_base("ftp://x/fhir")
    Traceback (most recent call last):
    ValueError: ftp://x/fhir is not a FHIR base URL: it must start with http:// or https://.
    """
    raw = value.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises for a port out of range or not a number
    except ValueError:
        raise ValueError(f"{raw!r} is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{raw} is not a FHIR base URL: it must start with http:// or https://.")
    if not parts.hostname:
        raise ValueError(f"{raw} has no host name.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Put no user name or password in the URL; give a token instead.")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ValueError(f"{raw} has a query or fragment; give the FHIR base URL only.")
    if port == 0:
        raise ValueError(f"{raw} has port 0.")
    return raw.rstrip("/")


def check_timeout(value: str) -> float:
    """Seconds to wait for the FHIR server: a finite number above 0, at most an hour.

    >>> check_timeout("2.5")
    2.5
    >>> check_timeout("nan")
    Traceback (most recent call last):
    ValueError: The timeout must be a number of seconds above 0 and at most 3600 (got 'nan').
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not 0 < seconds <= 3600:
        raise ValueError(f"The timeout must be a number of seconds above 0 and at most 3600 (got {value!r}).")
    return seconds
