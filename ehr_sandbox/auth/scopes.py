"""SMART App Launch scopes, v1 (`.read`/`.write`) and v2 (`.cruds`). Pure Python, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# SMART v2 interactions, in the order the spec requires them to be written.
INTERACTIONS = "cruds"
# SMART v1 permissions expressed as v2 interactions (App Launch 2.0, "Scopes for requesting
# clinical data": read = rs, write = cud, * = everything).
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
CONTEXTS = ("patient", "user", "system")
# Scopes that do not name a resource (App Launch 2.0 "Scopes for requesting context data",
# "Scopes for requesting identity data", "Scopes for requesting a refresh token").
NON_RESOURCE_SCOPES = frozenset(
    {
        "launch",
        "launch/patient",
        "launch/encounter",
        "openid",
        "fhirUser",
        "profile",
        "offline_access",
        "online_access",
    }
)
REFRESH_SCOPES = frozenset({"offline_access", "online_access"})

_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)$")
_V2_PERMISSIONS = re.compile(r"^c?r?u?d?s?$")


class Access(StrEnum):
    """How much of a resource type a set of scopes opens."""

    ALL = "all"  # a user/ or system/ scope: every resource of the type
    PATIENT = "patient"  # only patient/ scopes: the launch patient's compartment


@dataclass(frozen=True)
class ResourceScope:
    """One clinical-data scope, for example `patient/Condition.rs`."""

    context: str
    resource_type: str
    interactions: frozenset[str]

    def allows(self, resource_type: str, interaction: str) -> bool:
        """True when this scope permits `interaction` (one of c r u d s) on `resource_type`.

        >>> parse_resource_scope("patient/*.read").allows("Condition", "s")
        True
        >>> parse_resource_scope("patient/Condition.rs").allows("Condition", "c")
        False
        """
        return self.resource_type in ("*", resource_type) and interaction in self.interactions

    def covers(self, other: ResourceScope) -> bool:
        """True when everything `other` permits is permitted by this scope.

        >>> parse_resource_scope("user/*.cruds").covers(parse_resource_scope("user/Task.write"))
        True
        >>> parse_resource_scope("user/*.cruds").covers(parse_resource_scope("patient/Task.rs"))
        False
        """
        return (
            self.context == other.context
            and self.resource_type in ("*", other.resource_type)
            and other.interactions <= self.interactions
        )


def split_scopes(scope: str | Iterable[str] | None) -> list[str]:
    """Scope string (space separated) to a list without duplicates, order kept.

    >>> split_scopes("openid  launch openid")
    ['openid', 'launch']
    >>> split_scopes(None)
    []
    """
    items = scope.split() if isinstance(scope, str) else list(scope or [])
    return list(dict.fromkeys(items))


def parse_resource_scope(scope: str) -> ResourceScope | None:
    """A clinical-data scope, or None when `scope` is not one (or is malformed).

    >>> scope = parse_resource_scope("patient/Condition.rs")
    >>> scope.context, scope.resource_type, sorted(scope.interactions)
    ('patient', 'Condition', ['r', 's'])
    >>> sorted(parse_resource_scope("user/Task.write").interactions)
    ['c', 'd', 'u']
    >>> sorted(parse_resource_scope("patient/*.*").interactions)
    ['c', 'd', 'r', 's', 'u']
    >>> parse_resource_scope("patient/Condition.sr") is None  # v2 order is fixed: c r u d s
    True
    >>> parse_resource_scope("openid") is None
    True
    """
    match = _RESOURCE_SCOPE.match(scope)
    if not match:
        return None
    context, resource_type, permissions = match.groups()
    if permissions in V1_PERMISSIONS:
        interactions = V1_PERMISSIONS[permissions]
    elif permissions and _V2_PERMISSIONS.match(permissions):
        interactions = permissions
    else:
        return None
    return ResourceScope(context, resource_type, frozenset(interactions))


def is_known_scope(scope: str) -> bool:
    """True for a scope this server understands.

    >>> [is_known_scope(s) for s in ("launch/patient", "patient/CarePlan.cruds", "email")]
    [True, True, False]
    """
    return scope in NON_RESOURCE_SCOPES or parse_resource_scope(scope) is not None


def is_covered(scope: str, allowed: Iterable[str]) -> bool:
    """True when a client allowed `allowed` may ask for `scope`.

    >>> is_covered("patient/Condition.read", ["patient/*.cruds", "launch"])
    True
    >>> is_covered("user/Task.rs", ["patient/*.cruds"])
    False
    >>> is_covered("openid", ["openid", "fhirUser"])
    True
    """
    allowed = list(allowed)
    if scope in NON_RESOURCE_SCOPES:
        return scope in allowed
    wanted = parse_resource_scope(scope)
    if wanted is None:
        return False
    granted = (parse_resource_scope(a) for a in allowed)
    return any(g is not None and g.covers(wanted) for g in granted)


def access_for(scopes: Iterable[str], resource_type: str, interaction: str) -> Access | None:
    """What the granted scopes open for one interaction on one type; None means forbidden.

    >>> access_for(["patient/Condition.rs"], "Condition", "r")
    <Access.PATIENT: 'patient'>
    >>> access_for(["patient/*.rs", "user/Task.rs"], "Task", "s")
    <Access.ALL: 'all'>
    >>> access_for(["user/Task.rs"], "Task", "u") is None
    True
    """
    contexts = set()
    for scope in scopes:
        parsed = parse_resource_scope(scope)
        if parsed is not None and parsed.allows(resource_type, interaction):
            contexts.add(parsed.context)
    if contexts & {"user", "system"}:
        return Access.ALL
    return Access.PATIENT if contexts else None


def wants_refresh_token(scopes: Iterable[str]) -> bool:
    """A refresh token is issued only for `offline_access` or `online_access`.

    >>> wants_refresh_token(["openid", "online_access"]), wants_refresh_token(["launch"])
    (True, False)
    """
    return bool(REFRESH_SCOPES & set(scopes))


def describe_scope(scope: str) -> str:
    """A short phrase for the consent page.

    >>> describe_scope("patient/Condition.rs")
    "Read and search the patient's Condition records"
    >>> describe_scope("user/*.write")
    'Create, update and delete all records you can access'
    """
    fixed = {
        "launch": "Use the EHR's launch context",
        "launch/patient": "Pick a patient",
        "launch/encounter": "Use the current encounter",
        "openid": "Know who you are",
        "fhirUser": "Know your FHIR user record",
        "profile": "Know your profile",
        "offline_access": "Stay signed in after you log out",
        "online_access": "Stay signed in while you are logged in",
    }
    if scope in fixed:
        return fixed[scope]
    parsed = parse_resource_scope(scope)
    if parsed is None:
        return scope
    verbs = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
    words = [verbs[i] for i in INTERACTIONS if i in parsed.interactions]
    action = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    whose = {"patient": "the patient's", "user": "", "system": ""}[parsed.context]
    what = "all" if parsed.resource_type == "*" else parsed.resource_type
    noun = f"{whose} {what} records".strip() if parsed.context == "patient" else f"{what} records"
    tail = " you can access" if parsed.context != "patient" else ""
    return f"{action.capitalize()} {noun}{tail}"
