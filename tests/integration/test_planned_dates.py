"""Planned dates follow the real program: when a stage ends early (or late), the stages still to
come move with it, in the same transaction as the completion (If-Match on every Task and Goal),
and the handout's next review date is the new end of the current stage."""

from datetime import date, datetime, timedelta

from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as P
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.handout import handout_context

CLEAR = dict.fromkeys(RED_FLAG_KEYS, False)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def tasks_and_goals(fhir, patient):
    state = read_patient_record(fhir, patient).state(P)
    tasks = {s.stage.number: fhir.read("Task", s.task_id) for s in state.stages}
    goals = {}
    for goal_id in state.goal_ids:
        goal = fhir.read("Goal", goal_id)
        number = int(goal["identifier"][0]["value"].rsplit("-", 1)[1])
        goals[number] = goal
    return state, tasks, goals


def planned(task):
    period = task["restriction"]["period"]
    return at(period["start"]), at(period["end"])


def test_later_stages_move_when_a_stage_ends_early_then_late(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    who = fhir.create({"resourceType": "Practitioner", "name": [{"family": "Planner"}]}).body["id"]
    actor = Actor(f"Practitioner/{who}", "Pat Planner")
    start = (utcnow() - timedelta(days=40)).replace(microsecond=0)  # instants keep milliseconds
    svc.record_screen(fhir, P, patient, CLEAR, actor, f"{run_tag}-1", now=start)
    svc.start_program(fhir, P, patient, actor, now=start, max_screen_age_days=30)
    state, tasks, goals = tasks_and_goals(fhir, patient)
    first_plan = {n: planned(t) for n, t in tasks.items()}
    assert first_plan[2][0] == first_plan[1][1]  # stage 2 was planned to start when stage 1 ends

    # Stage 1 ends a week early (planned: 2 weeks).
    early = start + timedelta(days=7)
    svc.record_screen(fhir, P, patient, CLEAR, actor, f"{run_tag}-2", now=early)
    versions = {n: t["meta"]["versionId"] for n, t in tasks.items()}
    svc.complete_stage(fhir, P, patient, state.current.task_id, actor, now=early, early_reason="Settled")
    state, tasks, goals = tasks_and_goals(fhir, patient)
    assert planned(tasks[1]) == first_plan[1]  # the completed stage keeps its plan (history)
    assert planned(tasks[2]) == (early, early + timedelta(weeks=3))
    for n in (3, 4, 5):  # each later stage keeps its length and follows the one before
        assert planned(tasks[n])[0] == planned(tasks[n - 1])[1]
        assert planned(tasks[n])[1] - planned(tasks[n])[0] == first_plan[n][1] - first_plan[n][0]
        assert planned(tasks[n])[0] == first_plan[n][0] - timedelta(days=7)
    # One write per resource, each through If-Match (the transaction refuses a stale version).
    assert {n: int(t["meta"]["versionId"]) - int(versions[n]) for n, t in tasks.items()} == {
        1: 1,
        2: 1,
        3: 1,
        4: 1,
        5: 1,
    }
    assert goals[2]["startDate"] == early.date().isoformat()
    assert goals[2]["target"][0]["dueDate"] == (early + timedelta(weeks=3)).date().isoformat()
    assert goals[4]["target"][0]["dueDate"] == planned(tasks[4])[1].date().isoformat()

    # The handout's next review date is the new end of the current stage.
    record = read_patient_record(fhir, patient)
    context = handout_context(record.patient, record.state(P).current, "Pat", {}, date.today())
    assert context["next_review"] == (early + timedelta(weeks=3)).date()

    # Stage 2 ends 5 days late: the later stages move out again.
    late = planned(tasks[2])[1] + timedelta(days=5)  # start + 33 days, in the past
    svc.record_screen(fhir, P, patient, CLEAR, actor, f"{run_tag}-3", now=late)
    svc.complete_stage(fhir, P, patient, state.current.task_id, actor, now=late, early_reason="Checked")
    _, tasks, goals = tasks_and_goals(fhir, patient)
    assert planned(tasks[3]) == (late, late + timedelta(weeks=5))
    assert planned(tasks[4])[0] == late + timedelta(weeks=5)
    assert goals[3]["target"][0]["dueDate"] == (late + timedelta(weeks=5)).date().isoformat()
