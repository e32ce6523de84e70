"""Scope building: SMART v2 syntax and the v1 fallback."""

from __future__ import annotations

import pytest

from fhir_rehab.launch.scopes import build_scopes, parse_role, to_v1_scopes


@pytest.mark.parametrize(
    "ehr_launch, role, has, lacks",
    [
        (True, "clinician", "launch", "launch/patient"),
        (True, "coordinator", "patient/Task.cruds", "user/Task.rs"),
        (False, "clinician", "launch/patient", "launch"),
        (False, "coordinator", "user/Practitioner.rs", "launch/patient"),
    ],
)
def test_context_scopes(ehr_launch, role, has, lacks) -> None:
    scopes = build_scopes(role, ehr_launch=ehr_launch)
    assert has in scopes and lacks not in scopes
    assert {"openid", "fhirUser", "offline_access"} <= set(scopes)
    assert len(scopes) == len(set(scopes))


def test_v1_fallback_covers_every_v2_scope() -> None:
    v1 = build_scopes("clinician", ehr_launch=True, permission_v2=False)
    assert v1 == [
        "launch",
        "openid",
        "fhirUser",
        "offline_access",
        "patient/Patient.read",
        "patient/Condition.read",
        "patient/Observation.read",
        "patient/Observation.write",
        "patient/QuestionnaireResponse.read",
        "patient/QuestionnaireResponse.write",
        "patient/CarePlan.read",
        "patient/CarePlan.write",
        "patient/Task.read",
        "patient/Task.write",
        "patient/Goal.read",
        "patient/Goal.write",
        "patient/Provenance.read",
        "patient/Provenance.write",
        "patient/ServiceRequest.read",
        "patient/ServiceRequest.write",
        "patient/DocumentReference.read",
        "patient/DocumentReference.write",
        "user/Practitioner.read",
        "patient/Encounter.read",
        "user/PractitionerRole.read",
        "user/Organization.read",
    ]
    coordinator = build_scopes("coordinator", ehr_launch=False, permission_v2=False)
    assert "user/Task.read" in coordinator and "user/Task.write" in coordinator
    assert "user/Provenance.write" in coordinator and "user/Provenance.read" in coordinator
    assert "user/CarePlan.write" not in coordinator and not any("Goal" in s for s in coordinator)
    assert "user/ServiceRequest.read" in coordinator and "user/ServiceRequest.write" not in coordinator


def test_v1_scopes_pass_through() -> None:
    assert to_v1_scopes(["patient/*.read", "launch/patient", "user/Task.*"]) == [
        "patient/*.read",
        "launch/patient",
        "user/Task.*",
    ]


def test_unknown_role_falls_back() -> None:
    assert parse_role(None, "coordinator") == "coordinator"
    assert parse_role("root", "nonsense") == "clinician"
