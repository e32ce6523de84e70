"""PatientCompartmentClient: nothing of another patient goes out or comes in."""

from __future__ import annotations

import pytest
import responses

from fhir_rehab.fhir.compartment import (
    PatientCompartmentClient,
    WrongPatientError,
    check_belongs,
    check_patch,
)
from fhir_rehab.fhir.errors import FhirForbidden

BASE = "https://ehr.example/fhir"
ME = "p1"


def ref(target: str) -> dict:
    return {"reference": target}


@responses.activate
def test_another_patients_record_stops_the_page_and_shows_none_of_it(app) -> None:
    """What the user meets: a 403 page that says why, with nothing of the other patient."""
    other = {"resourceType": "Patient", "id": "p2", "name": [{"family": "Stranger"}]}
    responses.get(f"{BASE}/Patient/p2", json=other)
    app.add_url_rule(
        "/_test/read/<pid>", view_func=lambda pid: PatientCompartmentClient(BASE, ME).read("Patient", pid)
    )
    page = app.test_client().get("/_test/read/p2", headers={"Accept": "text/html"})
    body = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "did not belong to the patient it was launched for" in body
    assert "Stranger" not in body and "Patient/p2" not in body
    with pytest.raises(FhirForbidden):  # callers that handle a refused read handle this too
        PatientCompartmentClient(BASE, ME).read("Patient", "p2")


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Patient", "id": ME},
        {"resourceType": "Condition", "subject": ref("Patient/p1")},
        {"resourceType": "Observation", "subject": ref("Patient/p1/_history/3")},
        {"resourceType": "CarePlan", "subject": ref(f"{BASE}/Patient/p1")},
        {"resourceType": "Goal", "subject": ref("Patient/p1")},
        {"resourceType": "Procedure", "subject": ref("Patient/p1")},
        {"resourceType": "Task", "for": ref("Patient/p1"), "owner": ref("Practitioner/9")},
        {"resourceType": "Encounter", "subject": ref("Patient/p1")},
        {"resourceType": "AllergyIntolerance", "patient": ref("Patient/p1")},
        {"resourceType": "PlanDefinition", "url": "https://x/pd"},
        {"resourceType": "ActivityDefinition"},
        {"resourceType": "Practitioner", "id": "9"},
        {"resourceType": "PractitionerRole"},
        {"resourceType": "Organization"},
        {"resourceType": "OperationOutcome", "issue": []},
        {"resourceType": "Provenance", "target": [ref("Patient/other")]},
        {"resourceType": "Bundle", "type": "searchset"},
    ],
)
def test_patient_resources_pass(resource: dict) -> None:
    check_belongs(resource, ME, base_url=BASE)


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Patient", "id": "p2"},
        {"resourceType": "Patient"},
        {"resourceType": "Condition", "subject": ref("Patient/p2")},
        {"resourceType": "Condition"},
        {"resourceType": "Observation", "subject": ref("Group/g1")},
        {"resourceType": "Observation", "subject": {"identifier": {"value": "MRN1"}}},
        {"resourceType": "CarePlan", "subject": ref("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427")},
        {"resourceType": "Goal", "subject": ref("#contained-patient")},
        {"resourceType": "Procedure", "subject": ref("https://elsewhere/fhir/Patient/p1")},
        {"resourceType": "Task", "for": ref("Patient/p2")},
        {"resourceType": "Task"},
        {"resourceType": "Observation", "subject": ref("Patient/p1"), "patient": ref("Patient/p2")},
        {"resourceType": "AllergyIntolerance", "patient": ref("Patient/p2")},
        {"resourceType": "Encounter", "subject": ref("urn:uuid:abc")},
        {"resourceType": "Basic"},  # unknown type naming no patient: fail closed
        {"id": "no-type"},
    ],
)
def test_other_patients_and_unknown_owners_are_refused(resource: dict) -> None:
    with pytest.raises(WrongPatientError):
        check_belongs(resource, ME, base_url=BASE)


def test_a_patient_prefix_is_not_the_patient() -> None:
    with pytest.raises(WrongPatientError):
        check_belongs({"resourceType": "Condition", "subject": ref("Patient/p10")}, ME)


def test_urn_patient_in_the_same_bundle_is_not_allowed() -> None:
    client = PatientCompartmentClient(BASE, ME)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaa",
                "resource": {"resourceType": "Patient", "id": ME},
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {
                "resource": {"resourceType": "CarePlan", "subject": ref("urn:uuid:aaaa")},
                "request": {"method": "POST", "url": "CarePlan"},
            },
        ],
    }
    with pytest.raises(WrongPatientError):
        client.check_resource(bundle)


def test_contained_resources_are_checked() -> None:
    plan = {
        "resourceType": "CarePlan",
        "subject": ref("Patient/p1"),
        "contained": [{"resourceType": "Patient", "id": "c1"}],
    }
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).check_resource(plan)


@pytest.mark.parametrize(
    "ops, ok",
    [
        ([{"op": "replace", "path": "/status", "value": "completed"}], True),
        ([{"op": "replace", "path": "/subject", "value": ref("Patient/p2")}], False),
        ([{"op": "copy", "from": "/for", "path": "/owner"}], False),
        ([{"op": "add", "path": "/patient/reference", "value": "Patient/p2"}], False),
        ({"resourceType": "Task"}, False),
        (["not-an-op"], False),
    ],
)
def test_json_patch(ops, ok: bool) -> None:
    if ok:
        check_patch(ops)
    else:
        with pytest.raises(WrongPatientError):
            check_patch(ops)


def test_client_requires_a_patient() -> None:
    with pytest.raises(ValueError):
        PatientCompartmentClient(BASE, "")


@responses.activate
def test_search_bundle_with_another_patients_entry_is_refused() -> None:
    responses.get(
        f"{BASE}/Condition",
        json={
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": {"resourceType": "Condition", "subject": ref("Patient/p1")}},
                {"resource": {"resourceType": "Condition", "subject": ref("Patient/p2")}},
            ],
        },
    )
    client = PatientCompartmentClient(BASE, ME, backoff=0)
    with pytest.raises(WrongPatientError):
        client.search("Condition", {"patient": "p1"})


@responses.activate
def test_search_of_own_data_and_includes_passes() -> None:
    responses.get(
        f"{BASE}/Task",
        json={
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": {"resourceType": "Task", "for": ref("Patient/p1")}},
                {"resource": {"resourceType": "Patient", "id": "p1"}, "search": {"mode": "include"}},
                {"resource": {"resourceType": "Practitioner", "id": "9"}, "search": {"mode": "include"}},
                {
                    "resource": {"resourceType": "OperationOutcome", "issue": []},
                    "search": {"mode": "outcome"},
                },
            ],
        },
    )
    tasks = PatientCompartmentClient(BASE, ME).search_all("Task", {"patient": "p1"})
    assert [t["resourceType"] for t in tasks] == ["Task", "Patient", "Practitioner", "OperationOutcome"]


@responses.activate
def test_read_of_another_patient_is_refused() -> None:
    responses.get(f"{BASE}/Patient/p2", json={"resourceType": "Patient", "id": "p2"})
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).read("Patient", "p2")


@responses.activate
def test_write_for_another_patient_is_never_sent() -> None:
    post = responses.post(f"{BASE}/Observation", json={}, status=201)
    client = PatientCompartmentClient(BASE, ME)
    with pytest.raises(WrongPatientError):
        client.create({"resourceType": "Observation", "subject": ref("Patient/p2")})
    assert post.call_count == 0


@responses.activate
def test_transaction_with_one_foreign_entry_is_never_sent() -> None:
    post = responses.post(BASE, json={}, status=200)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "CarePlan", "subject": ref("Patient/p1")},
                "request": {"method": "POST", "url": "CarePlan"},
            },
            {
                "resource": {"resourceType": "Task", "for": ref("Patient/p2")},
                "request": {"method": "POST", "url": "Task"},
            },
        ],
    }
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).transaction(bundle)
    assert post.call_count == 0


@responses.activate
def test_transaction_response_is_checked() -> None:
    responses.post(
        BASE,
        json={
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [
                {
                    "resource": {"resourceType": "Task", "for": ref("Patient/p2")},
                    "response": {"status": "201 Created"},
                },
            ],
        },
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Task", "for": ref("Patient/p1")},
                "request": {"method": "POST", "url": "Task"},
            },
        ],
    }
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).transaction(bundle)


@responses.activate
def test_own_write_goes_through() -> None:
    task = {"resourceType": "Task", "for": ref("Patient/p1"), "status": "ready"}
    responses.post(f"{BASE}/Task", json={**task, "id": "t1"}, status=201)
    created = PatientCompartmentClient(BASE, ME).create(task)
    assert created.body["id"] == "t1"


@responses.activate
def test_delete_checks_the_current_version_first() -> None:
    responses.get(f"{BASE}/Task/t9", json={"resourceType": "Task", "for": ref("Patient/p2")})
    delete = responses.delete(f"{BASE}/Task/t9", status=204)
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).delete("Task", "t9")
    assert delete.call_count == 0


@responses.activate
def test_delete_of_own_or_missing_resource_goes_through() -> None:
    responses.get(f"{BASE}/Task/t1", json={"resourceType": "Task", "for": ref("Patient/p1")})
    responses.get(f"{BASE}/Task/gone", status=404)
    d1 = responses.delete(f"{BASE}/Task/t1", status=204)
    d2 = responses.delete(f"{BASE}/Task/gone", status=204)
    client = PatientCompartmentClient(BASE, ME)
    client.delete("Task", "t1")
    client.delete("Task", "gone")
    assert (d1.call_count, d2.call_count) == (1, 1)


@responses.activate
def test_delete_entry_in_a_transaction_is_checked() -> None:
    responses.get(f"{BASE}/Goal/g2", json={"resourceType": "Goal", "subject": ref("Patient/p2")})
    post = responses.post(BASE, json={}, status=200)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Goal/g2"}}],
    }
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).transaction(bundle)
    assert post.call_count == 0


def test_conditional_delete_is_refused() -> None:
    with pytest.raises(WrongPatientError):
        PatientCompartmentClient(BASE, ME).request("DELETE", "Task?status=draft")
