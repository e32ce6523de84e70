"""After a positive screen: resume once cleared, or stop; progression over real days."""

from datetime import timedelta

import pytest

from fhir_rehab.codes import APP_RED_FLAG_PANEL
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.review import Outcome
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import ProgramRefused, StageRefused
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.review import record_review, resume_program, stop_program
from fhir_rehab.services.worklist import Intent, WorklistRefused, change_task
from fhir_rehab.services.writes import utcnow

CLEAR = {k: False for k in RED_FLAG_KEYS}
ACTOR = Actor(None, "Test Clinician")  # display-only: a user the server has no resource for


def state_of(fhir, patient):
    return read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)


@pytest.fixture
def held(fhir, seeded, run_tag):
    """A running program, stage 1 in progress, then put on hold by a positive screen."""
    patient = seeded["eligible-icd10"].patient_id
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-1")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    svc.record_screen(
        fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "worsening-pain": True}, ACTOR, f"{run_tag}-2"
    )
    assert state_of(fhir, patient).careplan_status == "on-hold"
    return patient


def clear_review(fhir, patient):
    (task_id,) = state_of(fhir, patient).review_task_ids
    created = fhir.create({"resourceType": "Practitioner", "name": [{"family": "Reviewer"}]}).body
    reviewer = Actor(f"Practitioner/{created['id']}", "Dr Reviewer")
    return record_review(
        fhir, SCIATICA_PROGRAM, patient, task_id, Outcome.CLEARED, "Normal neurology.", reviewer
    )


def test_a_review_that_stops_the_program_ends_its_goals_too(fhir, held):
    (task_id,) = state_of(fhir, held).review_task_ids
    created = fhir.create({"resourceType": "Practitioner", "name": [{"family": "Reviewer"}]}).body
    reviewer = Actor(f"Practitioner/{created['id']}", "Dr Reviewer")
    result = record_review(
        fhir, SCIATICA_PROGRAM, held, task_id, Outcome.STOPPED, "Metastatic disease found.", reviewer
    )
    assert result.program_stopped
    state = state_of(fhir, held)
    plan = fhir.read("CarePlan", state.careplan_id)
    assert plan["status"] == "revoked"
    goals = [fhir.read("Goal", g["reference"].split("/")[1]) for g in plan["goal"]]
    assert goals and {g["lifecycleStatus"] for g in goals} <= {"completed", "cancelled"}
    assert "cancelled" in {g["lifecycleStatus"] for g in goals}


def test_resume_needs_a_new_clear_screen_after_the_review(fhir, held):
    clear_review(fhir, held)
    with pytest.raises(ProgramRefused, match="positive"):
        resume_program(fhir, SCIATICA_PROGRAM, held, ACTOR)
    assert state_of(fhir, held).careplan_status == "on-hold"


def test_a_clear_screen_never_resumes_while_the_review_is_open(fhir, held, run_tag):
    svc.record_screen(fhir, SCIATICA_PROGRAM, held, CLEAR, ACTOR, f"{run_tag}-3")
    with pytest.raises(ProgramRefused, match="same-day medical review for Unrelenting pain"):
        resume_program(fhir, SCIATICA_PROGRAM, held, ACTOR)
    state = state_of(fhir, held)
    assert state.careplan_status == "on-hold" and len(state.review_task_ids) == 1
    task = fhir.read("Task", state.review_task_ids[0])
    assert task["status"] == "requested"  # nothing closed it as a side effect


def test_resume_after_a_cleared_review_restores_stages_and_leaves_reviews_alone(fhir, held, run_tag):
    clear_review(fhir, held)
    svc.record_screen(fhir, SCIATICA_PROGRAM, held, CLEAR, ACTOR, f"{run_tag}-3")
    resume_program(fhir, SCIATICA_PROGRAM, held, ACTOR)
    state = state_of(fhir, held)
    assert state.careplan_status == "active"
    assert [s.status for s in state.stages] == ["ready", "draft", "draft", "draft", "draft"]
    assert state.review_task_ids == ()
    assert state.current.stage.number == 1


def test_stop_revokes_the_plan_and_cancels_open_stages(fhir, held):
    with pytest.raises(ProgramRefused, match="reason"):
        stop_program(fhir, SCIATICA_PROGRAM, held, ACTOR, "  ")
    stop_program(fhir, SCIATICA_PROGRAM, held, ACTOR, "Referred to spinal surgery")
    state = state_of(fhir, held)
    assert state.careplan_status == "revoked"
    assert {s.status for s in state.stages} == {"cancelled"}
    assert all(s.status_reason == "Referred to spinal surgery" for s in state.stages)


def test_stopping_leaves_the_review_open_and_a_new_start_waits_for_it(fhir, held, run_tag):
    stop_program(fhir, SCIATICA_PROGRAM, held, ACTOR, "Paused by patient request")
    svc.record_screen(fhir, SCIATICA_PROGRAM, held, CLEAR, ACTOR, f"{run_tag}-4")
    with pytest.raises(ProgramRefused, match="cannot start while the same-day medical review"):
        svc.start_program(fhir, SCIATICA_PROGRAM, held, ACTOR)


def test_a_new_program_can_start_after_one_was_stopped(fhir, held, run_tag):
    stop_program(fhir, SCIATICA_PROGRAM, held, ACTOR, "Paused by patient request")
    clear_review(fhir, held)
    svc.record_screen(fhir, SCIATICA_PROGRAM, held, CLEAR, ACTOR, f"{run_tag}-4")
    again = svc.start_program(fhir, SCIATICA_PROGRAM, held, ACTOR)
    assert not again.already_started and again.state.careplan_status == "active"
    assert again.state.episodes == 2
    assert len(fhir.search_all("CarePlan", {"patient": held})) == 2


def test_progression_criteria_met_after_days_and_low_pain(fhir, seeded, run_tag):
    patient = seeded["eligible-snomed"].patient_id
    now = utcnow()
    start = now - timedelta(days=10)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-a", now=start)
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=start)
    for day, score in ((2, 6), (6, 4), (9, 3)):
        svc.record_pain(fhir, patient, score, ACTOR, f"{run_tag}-p{day}", now=start + timedelta(days=day))
    stage = state_of(fhir, patient).current
    result = svc.complete_stage(fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR, now=now)
    assert result.check.ready, result.check.unmet
    assert len(result.check.met) == 2


def test_double_submitted_positive_screen_racing_is_recorded_once(fhir, seeded, run_tag):
    import threading

    patient = seeded["eligible-snomed"].patient_id
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-clear")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    answers = {**CLEAR, "trauma": True}
    results, errors, barrier = [], [], threading.Barrier(2)

    def submit():
        barrier.wait()
        try:
            results.append(
                svc.record_screen(fhir, SCIATICA_PROGRAM, patient, answers, ACTOR, f"{run_tag}-positive")
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 2
    state = state_of(fhir, patient)
    assert state.careplan_status == "on-hold" and len(state.review_task_ids) == 1
    panel_code = f"{APP_RED_FLAG_PANEL.system}|{APP_RED_FLAG_PANEL.code}"
    panels = fhir.search_all("Observation", {"patient": patient, "code": panel_code})
    assert len(panels) == 2  # the clear one and the positive one, once


def goals_of(fhir, patient):
    plan = fhir.read("CarePlan", state_of(fhir, patient).careplan_id)
    return [fhir.read("Goal", g["reference"].split("/")[1]) for g in plan["goal"]]


def coordinator_act(fhir, task_id, action):
    version = fhir.read("Task", task_id)["meta"]["versionId"]
    return change_task(fhir, SCIATICA_PROGRAM, task_id, version, Intent(action), ACTOR, utcnow())


def test_a_hold_keeps_a_stage_not_started_ready_and_its_goal_follows_the_plan(fhir, held, run_tag):
    state = state_of(fhir, held)
    first = state.stages[0]
    assert state.careplan_status == "on-hold" and first.status == "ready" and first.started is None
    assert first.business_status == "red-flag-review"
    assert [g["lifecycleStatus"] for g in goals_of(fhir, held)] == ["on-hold", *["planned"] * 4]
    # held everywhere: no stage completes, the coordinator cannot start it
    with pytest.raises(StageRefused, match="on hold"):
        svc.complete_stage(fhir, SCIATICA_PROGRAM, held, first.task_id, ACTOR, early_reason="x")
    with pytest.raises(WorklistRefused, match="red flag"):
        coordinator_act(fhir, first.task_id, "start")
    assert fhir.read("Task", first.task_id)["status"] == "ready"

    clear_review(fhir, held)
    svc.record_screen(fhir, SCIATICA_PROGRAM, held, CLEAR, ACTOR, f"{run_tag}-3")
    resume_program(fhir, SCIATICA_PROGRAM, held, ACTOR)
    task = fhir.read("Task", first.task_id)
    assert task["status"] == "ready" and "statusReason" not in task and "executionPeriod" not in task
    assert [cd["code"] for cd in task["businessStatus"]["coding"]] == ["not-started"]
    goals = goals_of(fhir, held)
    assert [g["lifecycleStatus"] for g in goals] == ["active", *["planned"] * 4]
    assert goals[0]["achievementStatus"]["coding"][0]["code"] == "in-progress"
    assert {s.business_status for s in state_of(fhir, held).stages[1:]} == {"not-started"}


def test_a_stage_under_way_goes_on_hold_and_resumes_under_way(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-1")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    first = state_of(fhir, patient).stages[0]
    coordinator_act(fhir, first.task_id, "start")
    started = fhir.read("Task", first.task_id)["executionPeriod"]["start"]
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "trauma": True}, ACTOR, f"{run_tag}-2")
    task = fhir.read("Task", first.task_id)
    assert task["status"] == "on-hold" and task["executionPeriod"] == {"start": started}
    assert [cd["code"] for cd in task["businessStatus"]["coding"]] == ["red-flag-review"]
    clear_review(fhir, patient)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-3")
    resume_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    task = fhir.read("Task", first.task_id)
    assert task["status"] == "in-progress" and task["executionPeriod"] == {"start": started}
    assert [cd["code"] for cd in task["businessStatus"]["coding"]] == ["in-progress"]
    assert goals_of(fhir, patient)[0]["lifecycleStatus"] == "active"


def test_a_stopped_program_cancels_its_goals_with_a_truthful_achievement(fhir, held):
    stop_program(fhir, SCIATICA_PROGRAM, held, ACTOR, "Referred to spinal surgery")
    goals = goals_of(fhir, held)
    assert {g["lifecycleStatus"] for g in goals} == {"cancelled"}
    assert goals[0]["achievementStatus"]["coding"][0]["code"] == "not-achieved"  # it was pursued
    assert all("achievementStatus" not in g for g in goals[1:])  # never started
