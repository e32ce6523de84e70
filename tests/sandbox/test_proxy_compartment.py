"""Issue 11: the sandbox proxy checks what it answers to a patient-scoped token, writes included
(a conditional create can match, and return, another patient's resource)."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.conftest import TAG_SYSTEM, Seeded, Smart

SCOPE = "launch patient/Condition.cruds patient/Patient.rs"


@pytest.fixture
def patient_token(smart: Smart, seeded: Seeded) -> str:
    return smart.login(scope=SCOPE, patient_id=seeded.patient_a)[1]["access_token"]


def own_condition(seeded: Seeded) -> dict:
    return {
        "resourceType": "Condition",
        "code": {"text": "conditional create"},
        "meta": {"tag": [{"system": TAG_SYSTEM, "code": seeded.tag}]},
        "subject": {"reference": f"Patient/{seeded.patient_a}"},
    }


def post(url: str, token: str, body: dict, **headers: str) -> requests.Response:
    return requests.post(
        url,
        json=body,
        timeout=10,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/fhir+json",
            "Prefer": "return=representation",
            **headers,
        },
    )


@pytest.mark.parametrize("bundle_type", ["transaction", "batch"])
def test_a_bundle_whose_conditional_create_matches_another_patient_is_refused(
    smart: Smart, seeded: Seeded, patient_token: str, bundle_type: str
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [
            {
                "resource": own_condition(seeded),
                "request": {"method": "POST", "url": "Condition", "ifNoneExist": f"_id={seeded.condition_b}"},
            }
        ],
    }
    response = post(smart.stack.fhir_base, patient_token, bundle)
    assert response.status_code == 403, response.text
    assert "B condition" not in response.text
    assert seeded.patient_b not in response.text


def test_a_conditional_create_matching_another_patient_is_refused(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    response = post(
        f"{smart.stack.fhir_base}/Condition",
        patient_token,
        own_condition(seeded),
        **{"If-None-Exist": f"_id={seeded.condition_b}"},
    )
    assert response.status_code == 403, response.text
    assert "B condition" not in response.text


def test_a_conditional_create_matching_the_patients_own_resource_is_answered(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    response = post(
        f"{smart.stack.fhir_base}/Condition",
        patient_token,
        own_condition(seeded),
        **{"If-None-Exist": f"_id={seeded.conditions_a[0]}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == seeded.conditions_a[0]
