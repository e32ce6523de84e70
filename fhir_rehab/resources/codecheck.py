"""Check the app's own codes before sending: HAPI rejects unknown codes, the local server does not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.resources.errors import InvalidCode

# Systems whose codes the app must be able to vouch for; tag systems carry free-form keys.
_CHECKED_SYSTEMS = frozenset(
    {
        c.SNOMED,
        c.LOINC,
        c.ICD10CM,
        c.APP_CODES,
        c.RED_FLAG_QUESTION,
        c.BUSINESS_STATUS,
        c.OBSERVATION_CATEGORY,
        c.INTERPRETATION,
        c.PLAN_DEFINITION_TYPE,
        c.PROVENANCE_PARTICIPANT,
        c.DATA_OPERATION,
    }
)


def _registry() -> frozenset[tuple[str, str]]:
    known = {(v.system, v.code) for v in vars(c).values() if isinstance(v, c.Code)}
    known |= {(c.SNOMED, code) for code in c.SCIATICA_SNOMED}
    known |= {(q.system, q.code) for q in c.RED_FLAG_QUESTIONS.values()}
    return frozenset(known)


KNOWN_CODES = _registry()


def verhoeff_valid(number: str) -> bool:
    """SNOMED CT identifiers end in a Verhoeff check digit.

    >>> verhoeff_valid("23056005"), verhoeff_valid("23056006")
    (True, False)
    """
    d = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
        (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
        (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
        (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
        (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
        (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
        (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
        (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
        (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
    )
    p = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
        (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
        (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
        (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
        (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
        (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
        (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
    )
    if not number.isdigit():
        return False
    check = 0
    for i, digit in enumerate(reversed(number)):
        check = d[check][p[i % 8][int(digit)]]
    return check == 0


def loinc_valid(code: str) -> bool:
    """LOINC codes end in a mod-10 (Luhn-style) check digit after the hyphen.

    >>> loinc_valid("72514-3"), loinc_valid("72514-4")
    (True, False)
    """
    body, _, check = code.partition("-")
    if not (body.isdigit() and check.isdigit() and len(check) == 1):
        return False
    total = 0
    for i, digit in enumerate(reversed(body)):
        n = int(digit)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return (10 - total % 10) % 10 == int(check)


def _codings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "system" in node and "code" in node and isinstance(node.get("code"), str):
            yield node
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codings(item)


def check_codes(resource: dict[str, Any]) -> None:
    """Raise InvalidCode unless every coding in a checked system is one the app knows."""
    for coding in _codings(resource):
        system, code = coding["system"], coding["code"]
        if system not in _CHECKED_SYSTEMS:
            continue
        if (system, code) not in KNOWN_CODES:
            raise InvalidCode(f"{resource.get('resourceType')} carries unverified code {system}|{code}")
        if system == c.SNOMED and not verhoeff_valid(code):
            raise InvalidCode(f"SNOMED CT code {code} fails its Verhoeff check digit")
        if system == c.LOINC and not loinc_valid(code):
            raise InvalidCode(f"LOINC code {code} fails its check digit")
