"""Reads inside a write transaction (Transaction.read): answered after the writes, in the same
round trip, past the HAPI-like search cache; a record read this way is the record after the write."""

from __future__ import annotations

import uuid

import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.observations import build_pain_score
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import Search
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import StaleVersion
from fhir_rehab.services.record import read_patient_record, read_record_after, record_after
from fhir_rehab.services.writes import commit, utcnow

ACTOR = Actor()
CLEAR = dict.fromkeys(RED_FLAG_KEYS, False)


def pain_observation(patient_id: str, key: str, value: int) -> dict:
    return build_pain_score(value, patient_id, ACTOR, utcnow(), key, None)


def test_a_read_in_the_transaction_sees_the_write_in_one_round_trip(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    params = [("patient", patient), ("code", f"{c.LOINC}|{c.LOINC_PAIN_0_10.code}")]
    search = Search("Observation", params).url()
    # Prime any search cache (HAPI keeps identical searches 60 s) with the "before" answer.
    assert not fhir.search("Observation", params, fresh=False).get("entry")
    tx = Transaction()
    tx.create(
        pain_observation(patient, f"{run_tag}-pain", 4),
        if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, f"{run_tag}-pain"),
    )
    at = tx.read(search)
    before = fhir.request_count
    result = commit(fhir, tx)
    assert fhir.request_count - before == 1
    (observation,) = [e["resource"] for e in (result.reads[at] or {}).get("entry") or []]
    assert observation["valueInteger"] == 4
    assert result.refs == [f"Observation/{observation['id']}"]


def test_the_record_after_a_write_equals_a_fresh_read(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    tx = Transaction()
    tx.create(
        pain_observation(patient, f"{run_tag}-p", 6),
        if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, f"{run_tag}-p"),
    )
    reads = read_record_after(tx, patient)
    before = fhir.request_count
    after = record_after(fhir, reads, commit(fhir, tx))
    assert fhir.request_count - before == 1
    assert after.refs() == read_patient_record(fhir, patient).refs()
    assert [p.value for p in after.state(SCIATICA_PROGRAM).pain] == [6]


def started(fhir, seeded) -> str:
    patient = seeded["eligible-icd10"].patient_id
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{uuid.uuid4()}")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    return patient


def test_the_review_guard_fails_a_completion_built_on_a_page_from_before_a_self_check(
    fhir, seeded, monkeypatch
):
    """A patient's self-check opens a review without touching the plan: no If-Match can see it.
    The conditional create inside the transaction does (it matches twice), and the stage is not
    completed; without that entry the same write would go through."""
    patient = started(fhir, seeded)
    page = read_patient_record(fhir, patient)  # what the clinician's page showed
    stage = page.state(SCIATICA_PROGRAM).current
    svc.record_screen(
        fhir,
        SCIATICA_PROGRAM,
        patient,
        {**CLEAR, "saddle-anaesthesia": True},
        ACTOR,
        f"{uuid.uuid4()}",
        hold_program=False,
    )
    with pytest.raises(StaleVersion):
        svc.complete_stage(
            fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR, record=page, early_reason="fast"
        )
    now = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert now.current is not None and now.current.version == stage.version  # nothing written

    monkeypatch.setattr(svc, "review_guard", lambda *args: None)  # the guard is what refused it
    svc.complete_stage(
        fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR, record=page, early_reason="fast"
    )
    assert read_patient_record(fhir, patient).state(SCIATICA_PROGRAM).current.stage.number == 2


def test_with_no_review_open_the_guard_creates_nothing(fhir, seeded):
    patient = started(fhir, seeded)
    page = read_patient_record(fhir, patient)
    stage = page.state(SCIATICA_PROGRAM).current
    tasks_before = len(fhir.search_all("Task", {"patient": patient}))
    svc.complete_stage(
        fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR, record=page, early_reason="fast"
    )
    assert len(fhir.search_all("Task", {"patient": patient})) == tasks_before
