"""SMART scopes the app asks for, in v2 syntax or the v1 fallback (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Role = Literal["clinician", "coordinator", "patient"]
ROLES: tuple[Role, ...] = ("clinician", "coordinator", "patient")

# SMART App Launch 2.x, section "Scopes for requesting clinical data" (v2 syntax:
# c=create r=read u=update d=delete s=search).
IDENTITY_SCOPES = ("openid", "fhirUser", "offline_access")
PATIENT_DATA_SCOPES = (
    "patient/Patient.rs",
    "patient/Condition.rs",
    "patient/Observation.cruds",
    "patient/QuestionnaireResponse.crs",  # the red-flag screen, beside its Observations
    "patient/CarePlan.cruds",
    "patient/Task.cruds",
    "patient/Goal.cruds",
    "patient/Provenance.cr",
    # Each prescribed exercise is a ServiceRequest; the handout is filed as a DocumentReference
    # when the EHR grants it (the app works without it).
    "patient/ServiceRequest.cruds",
    "patient/DocumentReference.cr",
    # Names the signed-in clinician and whoever owns a medical review, in words.
    "user/Practitioner.rs",
    # The clinic printed on the handout: the launch encounter's serviceProvider, or a
    # PractitionerRole user's organization (services/clinic.py).
    "patient/Encounter.rs",
    "user/PractitionerRole.rs",
    "user/Organization.rs",
)
COORDINATOR_DATA_SCOPES = (
    # A coordinator organises Tasks (claim, assign, hold, notes; raises follow-ups) and reads
    # what the worklist and the timeline show. Clinical changes to the plan (stages, Goals,
    # exercises) are the clinician's, so the coordinator asks for no update on them.
    "user/Task.rs",
    "user/Task.u",
    "user/Task.c",
    "user/Patient.rs",
    "user/CarePlan.rs",
    "user/Observation.rs",
    # Each change writes a Provenance; a conflict page names who changed the Task.
    "user/Provenance.crs",
    "user/Practitioner.rs",
    # The record read shows the stage's prescribed exercises (ServiceRequests).
    "user/ServiceRequest.rs",
)
# A patient's own standalone launch (SMART App Launch 2.x, "launch/patient" with patient-level
# scopes): read the plan and its stages, add their own reports (Observations with Provenance),
# and ask the care team for a review (create a Task). Never update or delete anything.
PATIENT_SELF_SCOPES = (
    "patient/Patient.rs",
    "patient/CarePlan.rs",
    "patient/Task.crs",
    "patient/Observation.crs",
    "patient/QuestionnaireResponse.crs",  # the self-check is a red-flag screen (QR + Observations)
    "patient/Provenance.c",
    "patient/ServiceRequest.rs",  # their prescribed exercises (read only)
)
PATIENT_IDENTITY_SCOPES = ("openid", "fhirUser", "online_access")
V2_CAPABILITY = "permission-v2"
_READ, _WRITE = frozenset("rs"), frozenset("cud")


def build_scopes(role: Role, *, ehr_launch: bool, permission_v2: bool = True) -> list[str]:
    """The scopes for one authorization request.

    An EHR launch always asks for `launch` and patient data; a standalone clinician launch
    asks the server to pick a patient (`launch/patient`); a coordinator works across patients.

    >>> build_scopes("clinician", ehr_launch=True)[:4]
    ['launch', 'openid', 'fhirUser', 'offline_access']
    >>> "launch/patient" in build_scopes("clinician", ehr_launch=False)
    True
    >>> build_scopes("coordinator", ehr_launch=False)[3:5]
    ['user/Task.rs', 'user/Task.u']
    >>> build_scopes("patient", ehr_launch=False)[:3]
    ['launch/patient', 'openid', 'fhirUser']
    >>> build_scopes("clinician", ehr_launch=True, permission_v2=False)[4:6]
    ['patient/Patient.read', 'patient/Condition.read']
    """
    if role == "patient":  # a patient's own launch is always standalone
        scopes = ["launch/patient", *PATIENT_IDENTITY_SCOPES, *PATIENT_SELF_SCOPES]
        return scopes if permission_v2 else to_v1_scopes(scopes)
    if ehr_launch:
        context = ["launch"]
    elif role == "coordinator":
        context = []
    else:
        context = ["launch/patient"]
    data = COORDINATOR_DATA_SCOPES if role == "coordinator" and not ehr_launch else PATIENT_DATA_SCOPES
    scopes = [*context, *IDENTITY_SCOPES, *data]
    return scopes if permission_v2 else to_v1_scopes(scopes)


def to_v1_scopes(scopes: Iterable[str]) -> list[str]:
    """Rewrite v2 resource scopes in SMART v1 syntax (`.read` / `.write`), keeping order.

    v1 has no search or create-only permission: `rs` becomes `read`, any of `cud` becomes
    `write`, and a mix becomes both.

    >>> to_v1_scopes(["openid", "patient/Condition.rs", "patient/CarePlan.cruds"])
    ['openid', 'patient/Condition.read', 'patient/CarePlan.read', 'patient/CarePlan.write']
    >>> to_v1_scopes(["user/Task.u", "user/Task.c", "user/Provenance.c"])
    ['user/Task.write', 'user/Provenance.write']
    """
    out: list[str] = []
    for scope in scopes:
        for converted in _v1_forms(scope):
            if converted not in out:
                out.append(converted)
    return out


def _v1_forms(scope: str) -> list[str]:
    if "/" not in scope or "." not in scope:
        return [scope]
    resource, _, perms = scope.rpartition(".")
    letters = set(perms)
    if not letters or not letters <= (_READ | _WRITE):
        return [scope]  # already v1 (`read`, `write`, `*`) or not a resource scope
    forms = []
    if letters & _READ:
        forms.append(f"{resource}.read")
    if letters & _WRITE:
        forms.append(f"{resource}.write")
    return forms


def supports_v2(capabilities: Iterable[str]) -> bool:
    """True when discovery lists `permission-v2`.

    >>> supports_v2(["launch-ehr", "permission-v2"]), supports_v2(["permission-v1"])
    (True, False)
    """
    return V2_CAPABILITY in set(capabilities)


def parse_role(value: str | None, default: str) -> Role:
    """A known role from a query parameter or setting; anything else is the default.

    >>> parse_role("coordinator", "clinician"), parse_role("admin", "clinician")
    ('coordinator', 'clinician')
    """
    for role in ROLES:
        if value == role:
            return role
    for role in ROLES:
        if default == role:
            return role
    return "clinician"


# Scope levels that cover the launch patient's own record (patient/, user/, system/).
PATIENT_LEVELS = ("patient", "user", "system")


def grants(
    scopes: Iterable[str], resource: str, interaction: str, levels: tuple[str, ...] = ("user", "system")
) -> bool:
    """True when a scope (v2 or v1) at one of `levels` allows `interaction` on `resource`:
    user-level by default (work across patients); with "patient", the launch patient's too.

    >>> grants(["user/Goal.ru"], "Goal", "u"), grants(["user/*.write"], "Goal", "u")
    (True, True)
    >>> grants(["user/Task.u", "patient/Goal.u"], "Goal", "u")
    False
    >>> grants(["patient/DocumentReference.cr"], "DocumentReference", "c", PATIENT_LEVELS)
    True
    """
    v1 = {"read": "rs", "write": "cud", "*": "cruds"}
    for scope in scopes:
        context, _, rest = scope.partition("/")
        kind, _, perms = rest.rpartition(".")
        if context in levels and kind in (resource, "*") and interaction in v1.get(perms, perms):
            return True
    return False
