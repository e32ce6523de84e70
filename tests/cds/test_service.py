"""The patient-view service against the real local FHIR server, for each kind of patient,
with the full prefetch, with none (read from fhirServer in one batch), and with part of it."""

from __future__ import annotations

import uuid

import pytest

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients
from tests.cds.conftest import (
    DISCOVERY_URL,
    ISS,
    PUBLIC_URL,
    SERVICE_URL,
    bearer,
    full_prefetch,
    hook_body,
    make_patient,
)
from tests.support.cds import check_no_empty, check_response

CLEAR = {k: False for k in RED_FLAG_KEYS}
ACTOR = Actor("Practitioner/test", "Test Clinician")


@pytest.fixture(scope="module")
def seeded(fhir_server):
    """The four demo patients, once for the module: tests that write make their own patient."""
    fhir = FhirClient(fhir_server.base_url, backoff=0.0, timeout=10)
    return {s.key: s.patient_id for s in seed_demo_patients(fhir, run=f"cds-{uuid.uuid4().hex[:8]}")}


@pytest.fixture
def eligible(fhir, run_tag):
    """A fresh eligible patient (sciatica by ICD-10-CM), for a test that writes."""
    return make_patient(fhir, run_tag, c.ICD_LUMBAGO_SCIATICA_RIGHT)


@pytest.fixture
def ask(cds, keys, fhir, fhir_server, recorder):
    """Call the service three ways and check all three give the same, valid answer."""

    def post(body):
        return cds.post(
            "/cds-services/sciatica-rehab", json=body, headers=bearer(keys.sign(ISS, SERVICE_URL))
        )

    def run(patient_id):
        # 1. every key prefetched; fhirServer points at a server that fails: nothing is read.
        full = post(
            hook_body(
                patient_id, prefetch=full_prefetch(fhir, patient_id), fhir_server=f"{recorder.url}/fhir"
            )
        )
        assert full.status_code == 200, full.get_json()
        # 2. nothing prefetched: one batch to the FHIR server.
        none = post(hook_body(patient_id, fhir_server=fhir_server.base_url))
        assert none.status_code == 200, none.get_json()
        # 3. only the patient prefetched.
        patient = fhir.read("Patient", patient_id)
        part = post(hook_body(patient_id, prefetch={"patient": patient}, fhir_server=fhir_server.base_url))
        assert part.status_code == 200, part.get_json()
        cards = check_response(full.get_json())
        assert none.get_json()["cards"] == cards == part.get_json()["cards"]
        return cards

    return run


def test_discovery_lists_the_patient_view_service(cds, keys):
    response = cds.get("/cds-services", headers=bearer(keys.sign(ISS, DISCOVERY_URL)))
    services = response.get_json()["services"]
    check_no_empty(services)
    (service,) = services
    assert service["hook"] == "patient-view" and service["id"] == "sciatica-rehab"
    assert service["title"] and service["description"]
    assert set(service["prefetch"]) >= {"patient", "conditions", "carePlans", "reviewTasks"}
    assert all("{{context.patientId}}" in template for template in service["prefetch"].values())


def test_eligible_patient_gets_the_suggestion_with_a_smart_link(ask, seeded):
    (card,) = ask(seeded["eligible-icd10"])
    assert card["indicator"] == "info"
    assert card["summary"] == "Staged physiotherapy program for sciatica"
    assert "M54.41" in card["detail"] and "Lumbago with sciatica" in card["detail"]
    assert card["links"] == [
        {"label": "Open fhir-rehab for this patient", "url": f"{PUBLIC_URL}/launch", "type": "smart"}
    ]
    assert "fhir-rehab" in card["source"]["label"] and SCIATICA_PROGRAM.version in card["source"]["label"]
    # Stable per patient and reason: asked again, the same uuid.
    assert ask(seeded["eligible-icd10"])[0]["uuid"] == card["uuid"]
    assert ask(seeded["eligible-snomed"])[0]["uuid"] != card["uuid"]


@pytest.mark.parametrize("kind", ["not-eligible", "refuted"])
def test_not_eligible_patients_get_no_card(ask, seeded, kind):
    assert ask(seeded[kind]) == []


def test_excluded_patient_gets_no_suggestion(ask, fhir, run_tag):
    """Sciatica and an active cauda equina syndrome: contraindicated, nothing suggested."""
    patient_id = make_patient(
        fhir, run_tag, c.ICD_SCIATICA_RIGHT, c.Code(c.ICD10CM, "G83.4", "Cauda equina syndrome")
    )
    assert ask(patient_id) == []


def test_program_running_shows_stage_days_and_pain_trend(ask, fhir, eligible, run_tag):
    patient = eligible
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    for n, score in enumerate((7, 6, 4)):
        svc.record_pain(fhir, patient, score, ACTOR, f"{run_tag}-p{n}")
    (card,) = ask(patient)
    assert card["indicator"] == "info"
    assert card["summary"].startswith("Sciatica program: stage 1 of 5, Assessment and pain control")
    assert "0 days in this stage" in card["detail"]
    assert "7, 6, 4 out of 10 (improving)" in card["detail"]
    assert card["links"][0]["type"] == "smart"


def test_open_emergency_review_is_critical_and_names_the_finding(ask, fhir, eligible, run_tag):
    patient = eligible
    svc.record_screen(
        fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "bladder-bowel": True}, ACTOR, f"{run_tag}-e"
    )
    (card,) = ask(patient)  # eligible, but no suggestion while a review is open
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Emergency red-flag review open: bladder or bowel dysfunction")
    assert "due by" in card["summary"]
    assert "**Found:** Bladder or bowel dysfunction" in card["detail"]
    assert "emergency department" in card["detail"]
    assert "bladder-bowel" not in card["detail"] and "Task/" not in card["detail"]
    assert card["links"][0]["url"] == f"{PUBLIC_URL}/launch"


def test_review_of_other_flags_is_a_warning_beside_the_held_program(ask, fhir, eligible, run_tag):
    patient = eligible
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-1")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "trauma": True}, ACTOR, f"{run_tag}-2")
    review, program = ask(patient)
    assert review["indicator"] == "warning"
    assert "Pain after trauma or a fall" in review["detail"]
    assert program["indicator"] == "info" and "on hold" in program["summary"]


def test_incomplete_prefetch_without_fhir_access_is_412(cds, keys, seeded, fhir):
    patient = seeded["eligible-icd10"]
    body = hook_body(patient, prefetch={"patient": fhir.read("Patient", patient)})
    response = cds.post(
        "/cds-services/sciatica-rehab", json=body, headers=bearer(keys.sign(ISS, SERVICE_URL))
    )
    assert response.status_code == 412
    assert "prefetch" in response.get_json()["error"].lower()


def test_fhir_server_off_the_allowlist_is_never_read(cds, keys, seeded):
    body = hook_body(seeded["eligible-icd10"], fhir_server="http://127.0.0.1:9/fhir")
    response = cds.post(
        "/cds-services/sciatica-rehab", json=body, headers=bearer(keys.sign(ISS, SERVICE_URL))
    )
    assert response.status_code == 412


def test_prefetch_of_another_patient_is_not_used(ask, cds, keys, fhir, seeded, fhir_server):
    """A client that sends another patient's Conditions: the key is read again from the server."""
    mine, other = seeded["not-eligible"], seeded["eligible-icd10"]
    prefetch = full_prefetch(fhir, mine)
    prefetch["conditions"] = full_prefetch(fhir, other)["conditions"]
    body = hook_body(mine, prefetch=prefetch, fhir_server=fhir_server.base_url)
    response = cds.post(
        "/cds-services/sciatica-rehab", json=body, headers=bearer(keys.sign(ISS, SERVICE_URL))
    )
    assert response.status_code == 200 and response.get_json() == {"cards": []}


@pytest.mark.parametrize(
    "body, message",
    [
        ({"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p"}}, "patient-view"),
        ({"hook": "patient-view", "context": {"patientId": "p"}}, "hookInstance"),
        ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "../x"}}, "patientId"),
        (
            {
                "hook": "patient-view",
                "hookInstance": "x",
                "context": {"patientId": "p"},
                "fhirAuthorization": {},
            },
            "fhirServer",
        ),
        ("not json", "JSON object"),
    ],
)
def test_bad_requests_say_what_is_wrong(cds, keys, body, message):
    response = cds.post(
        "/cds-services/sciatica-rehab", json=body, headers=bearer(keys.sign(ISS, SERVICE_URL))
    )
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_a_running_program_with_a_new_exclusion_warns(ask, fhir, eligible, run_tag):
    svc.record_screen(fhir, SCIATICA_PROGRAM, eligible, CLEAR, ACTOR, f"{run_tag}-x")
    svc.start_program(fhir, SCIATICA_PROGRAM, eligible, ACTOR)
    fhir.create(
        {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": c.CONDITION_CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": c.CONDITION_VERIFICATION, "code": "confirmed"}]},
            "code": {"coding": [c.Code(c.ICD10CM, "G83.4", "Cauda equina syndrome").as_coding()]},
            "subject": {"reference": f"Patient/{eligible}"},
        }
    )
    (card,) = ask(eligible)
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Check the running sciatica program")
    assert "Cauda equina" in card["detail"]
