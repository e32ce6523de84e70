"""Re-screen triggers and screen age, against the real local FHIR server (issue 7, item 8)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.review import Outcome
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.state import follow_up_code
from fhir_rehab.resources.worklist import parse_row
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import ProgramRefused, StageRefused
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.review import record_review
from fhir_rehab.services.writes import utcnow

CLEAR = {k: False for k in RED_FLAG_KEYS}
ACTOR = Actor(None, "Test Clinician")  # display-only: a user the server has no resource for


def state_of(fhir, patient):
    return read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)


def pain(fhir, patient, score, key, now=None):
    return svc.record_pain(fhir, patient, score, ACTOR, key, now=now, state=state_of(fhir, patient))


def follow_ups(fhir, patient, code):
    """The follow-ups for `code`'s reason: one Task code for every follow-up, the reason in
    reasonCode."""
    tasks = fhir.search_all("Task", {"patient": patient, "_count": "100"})
    return [t for t in tasks if follow_up_code(t) == code.code]


@pytest.fixture
def running(fhir, seeded, run_tag):
    """A program started 10 days ago, screened clear today."""
    patient = seeded["eligible-icd10"].patient_id
    then = utcnow() - timedelta(days=10)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s0", now=then)
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=then)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s1")
    return patient


@pytest.mark.parametrize("scores", [(8,), (3, 6)], ids=["pain 8", "rise of 3"])
def test_a_pain_flare_asks_for_a_new_screen_before_the_next_action(fhir, running, run_tag, scores):
    for n, score in enumerate(scores):
        pain(fhir, running, score, f"{run_tag}-p{n}")
    (task,) = follow_ups(fhir, running, c.APP_RESCREEN)
    assert task["status"] == "requested" and task["priority"] == "urgent"
    assert task["code"]["coding"][0]["code"] == c.APP_FOLLOW_UP.code  # one kind of follow-up
    row = parse_row(SCIATICA_PROGRAM, task, {})
    assert row.kind == "follow-up" and row.closes_itself  # the next screen closes it
    assert (
        row.rank
        < parse_row(SCIATICA_PROGRAM, fhir.read("Task", state_of(fhir, running).current.task_id), {}).rank
    )

    stage = state_of(fhir, running).current
    with pytest.raises(StageRefused, match="asks for a new red-flag screen"):
        svc.complete_stage(fhir, SCIATICA_PROGRAM, running, stage.task_id, ACTOR, early_reason="x")
    pain(fhir, running, 9, f"{run_tag}-again")  # a second flare adds no second follow-up
    assert len(follow_ups(fhir, running, c.APP_RESCREEN)) == 1

    svc.record_screen(fhir, SCIATICA_PROGRAM, running, CLEAR, ACTOR, f"{run_tag}-s2")
    (done,) = follow_ups(fhir, running, c.APP_RESCREEN)
    assert done["status"] == "completed" and done["output"][0]["valueReference"]["reference"]
    svc.complete_stage(fhir, SCIATICA_PROGRAM, running, stage.task_id, ACTOR, early_reason="Flare settled")


def test_a_moderate_score_raises_nothing(fhir, running, run_tag):
    pain(fhir, running, 5, f"{run_tag}-p1")
    pain(fhir, running, 7, f"{run_tag}-p2")
    assert follow_ups(fhir, running, c.APP_RESCREEN) == []


def test_completing_a_stage_needs_a_screen_from_the_last_14_days(fhir, seeded, run_tag):
    patient = seeded["eligible-snomed"].patient_id
    then = utcnow() - timedelta(days=20)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s0", now=then)
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=then, max_screen_age_days=7)
    stage = state_of(fhir, patient).current
    with pytest.raises(StageRefused, match="red-flag screen from the last 14 days"):
        svc.complete_stage(fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR, early_reason="x")
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s1")
    svc.complete_stage(fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR, early_reason="Doing well")


def test_start_needs_a_screen_from_the_last_7_days(fhir, seeded, run_tag):
    patient = seeded["eligible-snomed"].patient_id
    svc.record_screen(
        fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s0", now=utcnow() - timedelta(days=8)
    )
    with pytest.raises(ProgramRefused, match="older than 7 days"):
        svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    assert svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, max_screen_age_days=10).state.started


def test_four_weeks_without_improvement_raises_a_progress_review(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    then = utcnow() - timedelta(days=30)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s0", now=then)
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=then, max_screen_age_days=7)
    pain(fhir, patient, 6, f"{run_tag}-p1", now=then + timedelta(days=1))
    pain(fhir, patient, 6, f"{run_tag}-p2")
    (task,) = follow_ups(fhir, patient, c.APP_PROGRESS_REVIEW)
    assert task["priority"] == "routine" and "pain has not improved (6/10 to 6/10)" in task["description"]
    state = state_of(fhir, patient)
    assert state.careplan_status == "active"  # not a red flag: nothing is held
    pain(fhir, patient, 6, f"{run_tag}-p3")
    assert len(follow_ups(fhir, patient, c.APP_PROGRESS_REVIEW)) == 1  # raised once per stage

    created = fhir.create({"resourceType": "Practitioner", "name": [{"family": "Reviewer"}]}).body
    reviewer = Actor(f"Practitioner/{created['id']}", "Dr Reviewer")
    record_review(fhir, SCIATICA_PROGRAM, patient, task["id"], Outcome.CLEARED, "Keep going.", reviewer)
    assert fhir.read("Task", task["id"])["status"] == "completed"


def test_improving_pain_raises_no_progress_review(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    then = utcnow() - timedelta(days=30)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-s0", now=then)
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=then, max_screen_age_days=7)
    pain(fhir, patient, 6, f"{run_tag}-p1", now=then + timedelta(days=1))
    pain(fhir, patient, 3, f"{run_tag}-p2")
    assert follow_ups(fhir, patient, c.APP_PROGRESS_REVIEW) == []
