"""A patient's positive self-check puts the program on hold ON THE EHR RECORD, written by the
app's own SMART Backend Services client (client_credentials, private_key_jwt ES384), never by
the patient's token; without a backend credential the app fails closed and says so.

Runs through the sandbox EHR (its authorization server and proxy) on both FHIR profiles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from tests.support.schema import schema_errors
from tests.web.test_patient import Patient, started, text
from tests.web.test_worklist import Coordinator

CAUDA_EQUINA = {key: "no" for key in RED_FLAG_KEYS} | {"saddle-anaesthesia": "yes"}


def self_check(stack: SandboxStack, backing: FhirClient) -> tuple[str, str]:
    """A running program (stage 1 ready); the patient signs in and reports a cauda equina sign."""
    patient = started(backing)
    me = Patient(stack, patient)
    me.open_app()
    result = me.post("/me/check", CAUDA_EQUINA, page="/me/check")
    assert result.status_code == 200 and "Go to an emergency department now" in text(result.text)
    return patient, text(result.text)


def plan_of(backing: FhirClient, patient: str) -> dict:
    (plan,) = backing.search_all("CarePlan", {"patient": patient})
    return plan


def test_a_positive_self_check_holds_the_plan_on_the_record_as_the_app(stack, fhir_profile):
    backing = FhirClient(stack.backing_fhir_base)
    patient, page = self_check(stack, backing)
    assert "on your clinic's record" in page

    plan = plan_of(backing, patient)
    assert plan["status"] == "on-hold"
    stages = sorted(
        (t for t in backing.search_all("Task", {"patient": patient}) if "instantiatesCanonical" in t),
        key=lambda t: t["restriction"]["period"]["end"],
    )
    # R4: stage 1 never started, so it stays ready with the reason; later stages untouched
    assert [t["status"] for t in stages] == ["ready", "draft", "draft", "draft", "draft"]
    assert stages[0]["businessStatus"]["coding"][0]["code"] == "red-flag-review"
    goals = [backing.read("Goal", g["reference"].split("/")[1]) for g in plan["goal"]]
    assert [g["lifecycleStatus"] for g in goals] == ["on-hold", *["planned"] * 4]
    (review,) = backing.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )
    assert review["priority"] == "stat" and review["requester"]["reference"] == f"Patient/{patient}"

    # Provenance of the hold: the app (its backend client, a logical Device) on behalf of the
    # patient, with the self-check as its source; and in the patient's compartment.
    (held_by,) = [
        p for p in backing.search_all("Provenance", {"target": f"CarePlan/{plan['id']}"}) if p.get("entity")
    ]
    agent = held_by["agent"][0]
    assert agent["who"]["type"] == "Device"
    assert agent["who"]["identifier"] == {
        "system": c.OAUTH_CLIENT_IDENTIFIER,
        "value": stack.backend_client_id,
    }
    assert agent["onBehalfOf"]["reference"] == f"Patient/{patient}"
    assert held_by["entity"][0]["role"] == "source"
    assert held_by["entity"][0]["what"]["reference"] == review["focus"]["reference"]
    assert f"Patient/{patient}" in {t["reference"] for t in held_by["target"]}
    for resource in (plan, stages[0], goals[0], held_by):
        assert schema_errors(resource) == []

    # the clinician sees who reported it, and that the record is held
    clinician = requests.Session()
    clinician.get(f"{stack.sandbox_url}/ehr/launch", params={"patient": patient}, timeout=30)
    words = text(clinician.get(f"{stack.app_url}/patient/program", timeout=30).text)
    assert "The patient reported a red flag in their own app" in words
    assert "not on the EHR record" not in words
    assert "not started: paused for a medical review" in words


def test_the_backend_client_gets_only_system_scopes_with_a_signed_assertion(stack):
    """The sandbox token endpoint: client_credentials needs the registered key's assertion."""
    token_url = f"{stack.sandbox_url}/auth/token"
    refused = requests.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "system/CarePlan.u", "client_id": "fhir-rehab"},
        timeout=30,
    )
    assert refused.status_code in (400, 401) and "access_token" not in refused.text


@pytest.fixture(scope="module")
def unconfigured(fhir_profile: str) -> Iterator[SandboxStack]:
    """A sandbox whose app has no backend credential for the FHIR base (plain profile)."""
    if fhir_profile != "plain":
        pytest.skip("the fail-closed path is the same on both profiles; shown on the plain one")
    with SandboxStack(auto_approve=True, backend_services=False) as running:
        yield running


def test_without_a_backend_credential_the_app_fails_closed_and_says_so(unconfigured):
    stack = unconfigured
    backing = FhirClient(stack.backing_fhir_base)
    patient, page = self_check(stack, backing)
    assert "clinic's record could not be updated automatically" in page

    assert plan_of(backing, patient)["status"] == "active"  # nothing changed on the record
    (review,) = backing.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )
    assert review["priority"] == "stat" and review["status"] == "requested"  # still written

    me = Patient(stack, patient)
    me.open_app()
    today = text(me.get("/me").text)
    assert "Your exercises are paused" in today and "could not be updated automatically" in today

    clinician = requests.Session()
    clinician.get(f"{stack.sandbox_url}/ehr/launch", params={"patient": patient}, timeout=30)
    words = text(clinician.get(f"{stack.app_url}/patient/program", timeout=30).text)
    assert "The patient reported a red flag in their own app" in words
    assert "The hold is not on the EHR record" in words

    coordinator = Coordinator(stack)
    coordinator.launch()
    first = coordinator.rows()[0]
    assert first.kind == "review" and f"/worklist/patient/{patient}" in first.body  # stat review first
    assert "Emergency" in first.body
    timeline = text(coordinator.open(f"/worklist/patient/{patient}").text)
    assert "The hold is not on the EHR record" in timeline
