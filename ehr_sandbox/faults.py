"""Simulated failures a launch can carry, named as in the SMART App Launcher."""

from __future__ import annotations

from enum import StrEnum

from ehr_sandbox.errors import UnknownFault


class Fault(StrEnum):
    """One simulated failure, chosen on the EHR page and bound to the launch id."""

    AUTH_INVALID_CLIENT_ID = "auth_invalid_client_id"
    AUTH_INVALID_REDIRECT_URI = "auth_invalid_redirect_uri"
    AUTH_INVALID_SCOPE = "auth_invalid_scope"
    AUTH_INVALID_CLIENT_SECRET = "auth_invalid_client_secret"  # noqa: S105 - a fault name
    TOKEN_INVALID_TOKEN = "token_invalid_token"  # noqa: S105 - a fault name
    TOKEN_EXPIRED_REFRESH_TOKEN = "token_expired_refresh_token"  # noqa: S105 - a fault name
    REQUEST_INVALID_TOKEN = "request_invalid_token"  # noqa: S105 - a fault name
    REQUEST_EXPIRED_TOKEN = "request_expired_token"  # noqa: S105 - a fault name
    FHIR_SERVER_ERROR = "fhir_server_error"


# What each fault does, for the EHR page's selector and the authorize error page.
DESCRIPTIONS: dict[Fault, str] = {
    Fault.AUTH_INVALID_CLIENT_ID: "Authorize: the client_id is not recognised",
    Fault.AUTH_INVALID_REDIRECT_URI: "Authorize: the redirect_uri is not registered",
    Fault.AUTH_INVALID_SCOPE: "Authorize: the requested scope is not allowed",
    Fault.AUTH_INVALID_CLIENT_SECRET: "Authorize: the client credentials are invalid",
    Fault.TOKEN_INVALID_TOKEN: "Token: the code exchange fails (invalid_grant)",
    Fault.TOKEN_EXPIRED_REFRESH_TOKEN: "Token: refreshing fails (invalid_grant)",
    Fault.REQUEST_INVALID_TOKEN: "FHIR: every request answers 401",
    Fault.REQUEST_EXPIRED_TOKEN: "FHIR: the access token is already expired (401 until refreshed)",
    Fault.FHIR_SERVER_ERROR: "FHIR: every request answers 500",
}

# Faults shown as an error page at the authorize step (never redirected anywhere).
AUTHORIZE_FAULTS = frozenset(
    {
        Fault.AUTH_INVALID_CLIENT_ID,
        Fault.AUTH_INVALID_REDIRECT_URI,
        Fault.AUTH_INVALID_SCOPE,
        Fault.AUTH_INVALID_CLIENT_SECRET,
    }
)

NO_FAULT = "none"


def parse_fault(name: str | None) -> Fault | None:
    """The fault for a selector value; empty or "none" mean no fault.

    >>> parse_fault("request_expired_token")
    <Fault.REQUEST_EXPIRED_TOKEN: 'request_expired_token'>
    >>> parse_fault("none") is None and parse_fault("") is None and parse_fault(None) is None
    True
    >>> parse_fault("bogus")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    UnknownFault: Unknown fault 'bogus'
    """
    if not name or name == NO_FAULT:
        return None
    try:
        return Fault(name)
    except ValueError:
        raise UnknownFault(f"Unknown fault {name!r}") from None


def describe_fault(fault: Fault) -> str:
    """One line for people: what the fault simulates.

    >>> describe_fault(Fault.FHIR_SERVER_ERROR)
    'FHIR: every request answers 500'
    """
    return DESCRIPTIONS[fault]
