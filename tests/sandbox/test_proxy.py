"""The FHIR proxy: bearer tokens, scopes, the patient compartment, URL rewriting, errors."""

from __future__ import annotations

import json

import pytest
import requests

from ehr_sandbox.app import create_sandbox_app
from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.settings import SandboxSettings
from tests.sandbox.conftest import TAG_SYSTEM, Seeded, Smart, fhir_get

CONDITION_SCOPE = "launch patient/Condition.cruds patient/Patient.rs"


@pytest.fixture
def patient_token(smart: Smart, seeded: Seeded) -> str:
    return smart.login(scope=CONDITION_SCOPE, patient_id=seeded.patient_a)[1]["access_token"]


def condition_for(seeded: Seeded, patient_id: str) -> dict:
    return {
        "resourceType": "Condition",
        "code": {"text": "written through the proxy"},
        "meta": {"tag": [{"system": TAG_SYSTEM, "code": seeded.tag}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def count_conditions(stack, patient_id: str) -> int:
    bundle = requests.get(
        f"{stack.backing_fhir_base}/Condition",
        timeout=10,
        params={"patient": patient_id, "_summary": "count"},
    ).json()
    return int(bundle["total"])


def test_without_a_token_401_with_www_authenticate_and_outcome(smart: Smart) -> None:
    response = fhir_get(f"{smart.stack.fhir_base}/Patient", None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_token_401_and_never_echoed(smart: Smart) -> None:
    response = fhir_get(f"{smart.stack.fhir_base}/Patient", "made-up-token-value")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "made-up-token-value" not in response.text


def test_metadata_and_discovery_are_public(smart: Smart) -> None:
    capability = fhir_get(f"{smart.stack.fhir_base}/metadata", None)
    assert capability.status_code == 200
    security = capability.json()["rest"][0]["security"]
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["token"] == f"{smart.stack.sandbox_url}/auth/token"
    assert smart.stack.backing_fhir_base not in capability.text


def test_read_inside_the_compartment_200(smart: Smart, seeded: Seeded, patient_token: str) -> None:
    response = fhir_get(f"{smart.stack.fhir_base}/Condition/{seeded.conditions_a[0]}", patient_token)
    assert response.status_code == 200
    assert response.json()["id"] == seeded.conditions_a[0]


@pytest.mark.parametrize("path", ["Condition/{condition_b}", "Patient/{patient_b}"])
def test_another_patients_resource_403(smart: Smart, seeded: Seeded, patient_token: str, path: str) -> None:
    url = f"{smart.stack.fhir_base}/" + path.format(
        condition_b=seeded.condition_b, patient_b=seeded.patient_b
    )
    response = fhir_get(url, patient_token)
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


@pytest.mark.parametrize(
    "params", [{}, {"patient": "{b}"}, {"subject": "Patient/{b}"}, {"patient": "{a},{b}"}]
)
def test_search_not_restricted_to_the_launch_patient_403(
    smart: Smart, seeded: Seeded, patient_token: str, params: dict
) -> None:
    filled = {k: v.format(a=seeded.patient_a, b=seeded.patient_b) for k, v in params.items()}
    response = fhir_get(f"{smart.stack.fhir_base}/Condition", patient_token, **filled)
    assert response.status_code == 403


def test_outside_the_granted_scopes_403(smart: Smart, seeded: Seeded, patient_token: str) -> None:
    response = fhir_get(f"{smart.stack.fhir_base}/Observation", patient_token, patient=seeded.patient_a)
    assert response.status_code == 403


def test_user_scope_searches_every_patient(smart: Smart, seeded: Seeded) -> None:
    token = smart.login(scope="openid user/Condition.rs")[1]["access_token"]
    response = fhir_get(
        f"{smart.stack.fhir_base}/Condition", token, _tag=f"{TAG_SYSTEM}|{seeded.tag}", _count="100"
    )
    assert response.status_code == 200
    ids = {e["resource"]["id"] for e in response.json().get("entry", [])}
    assert {seeded.condition_b, *seeded.conditions_a} <= ids


def test_next_link_is_rewritten_to_the_sandbox_base_and_works(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    base = smart.stack.fhir_base
    page = fhir_get(f"{base}/Condition", patient_token, patient=seeded.patient_a, _count="1")
    assert page.status_code == 200
    assert smart.stack.backing_fhir_base not in page.text
    links = {link["relation"]: link["url"] for link in page.json()["link"]}
    assert links["next"].startswith(f"{base}/Condition?")
    assert all(e["fullUrl"].startswith(base + "/") for e in page.json()["entry"])
    second = fhir_get(links["next"], patient_token)
    assert second.status_code == 200
    first_id = page.json()["entry"][0]["resource"]["id"]
    assert second.json()["entry"][0]["resource"]["id"] != first_id


def test_create_in_the_compartment_201_with_a_sandbox_location(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    response = requests.post(
        f"{smart.stack.fhir_base}/Condition",
        timeout=10,
        json=condition_for(seeded, seeded.patient_a),
        headers={"Authorization": f"Bearer {patient_token}", "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 201
    assert response.headers["Location"].startswith(f"{smart.stack.fhir_base}/Condition/")


def test_create_for_another_patient_403_and_nothing_written(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    before = count_conditions(smart.stack, seeded.patient_b)
    response = requests.post(
        f"{smart.stack.fhir_base}/Condition",
        timeout=10,
        json=condition_for(seeded, seeded.patient_b),
        headers={"Authorization": f"Bearer {patient_token}", "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 403
    assert count_conditions(smart.stack, seeded.patient_b) == before


def test_update_of_another_patients_resource_403(smart: Smart, seeded: Seeded, patient_token: str) -> None:
    moved = {**condition_for(seeded, seeded.patient_a), "id": seeded.condition_b}
    response = requests.put(
        f"{smart.stack.fhir_base}/Condition/{seeded.condition_b}",
        data=json.dumps(moved),
        timeout=10,
        headers={"Authorization": f"Bearer {patient_token}", "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 403
    current = requests.get(
        f"{smart.stack.backing_fhir_base}/Condition/{seeded.condition_b}", timeout=10
    ).json()
    assert current["subject"]["reference"].endswith(f"Patient/{seeded.patient_b}")


def test_transaction_entry_for_another_patient_refuses_the_whole_bundle(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    before = count_conditions(smart.stack, seeded.patient_a)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": condition_for(seeded, seeded.patient_a),
                "request": {"method": "POST", "url": "Condition"},
            },
            {
                "resource": condition_for(seeded, seeded.patient_b),
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }
    response = requests.post(
        smart.stack.fhir_base,
        json=bundle,
        timeout=10,
        headers={"Authorization": f"Bearer {patient_token}", "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 403
    assert count_conditions(smart.stack, seeded.patient_a) == before


def test_transaction_inside_the_compartment_is_forwarded(
    smart: Smart, seeded: Seeded, patient_token: str
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": condition_for(seeded, seeded.patient_a),
                "request": {"method": "POST", "url": "Condition"},
            }
        ],
    }
    response = requests.post(
        smart.stack.fhir_base,
        json=bundle,
        timeout=10,
        headers={"Authorization": f"Bearer {patient_token}", "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 200, response.text
    location = response.json()["entry"][0]["response"]["location"]
    assert smart.stack.backing_fhir_base not in response.text
    assert location.startswith("Condition/") or location.startswith(smart.stack.fhir_base)


def test_backing_server_down_502_outcome(smart: Smart) -> None:
    settings = SandboxSettings(f"http://127.0.0.1:{free_port()}/fhir", smart.stack.sandbox_url, timeout=2)
    client = create_sandbox_app(settings).test_client()
    response = client.get("/fhir/metadata")
    assert response.status_code == 502
    assert response.json["resourceType"] == "OperationOutcome"
