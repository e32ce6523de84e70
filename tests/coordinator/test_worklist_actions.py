"""Coordinator actions on the real local server: lifecycle, If-Match, conflicts, refusals."""

from __future__ import annotations

import threading

import pytest

from fhir_rehab import codes as c
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.worklist import (
    Intent,
    NotAppTask,
    TaskConflict,
    WorklistRefused,
    change_task,
)
from tests.coordinator.conftest import (
    NOW,
    PROGRAM,
    add_practitioner,
    escalate,
    stage_tasks,
    start_program,
    version,
)


def act(fhir, task, action, actor, **intent):
    return change_task(fhir, PROGRAM, task["id"], version(task), Intent(action, **intent), actor, NOW)


def provenance_for(fhir, task_id):
    """The updates recorded for a Task (its creation with the program left out)."""
    found = fhir.search_all("Provenance", {"target": f"Task/{task_id}"})
    return [p for p in found if p["activity"]["coding"][0]["code"] == c.OPERATION_UPDATE.code]


def test_claim_start_complete_readies_the_next_stage(fhir, run_tag, coordinator):
    patient = start_program(fhir, run_tag)
    first = stage_tasks(fhir, patient)[0]
    assert first["status"] == "ready" and "owner" not in first

    assert act(fhir, first, "claim", coordinator).message == "Task claimed."
    claimed = fhir.read("Task", first["id"])
    assert claimed["owner"] == {"reference": coordinator.reference, "display": coordinator.display}
    assert claimed["status"] == "ready"  # a stage Task is ready already: claiming only assigns

    act(fhir, claimed, "start", coordinator)
    started = fhir.read("Task", first["id"])
    assert started["status"] == "in-progress" and started["executionPeriod"]["start"]

    done = act(fhir, started, "complete", coordinator)
    assert "Stage 2: Restoring mobility is ready" in done.message
    state = read_patient_record(fhir, patient).state(PROGRAM)
    assert [s.status for s in state.stages][:3] == ["completed", "ready", "draft"]
    plan = fhir.read("CarePlan", state.careplan_id)
    assert plan["activity"][0]["progress"][0]["text"].startswith("Stage 1")
    goals = sorted(fhir.read("Goal", g)["lifecycleStatus"] for g in state.goal_ids)
    assert goals[:2] == ["active", "completed"]

    authors = [p["agent"][0]["who"] for t in (first["id"],) for p in provenance_for(fhir, t)]
    assert (
        authors.count({"reference": coordinator.reference, "display": coordinator.display}) == 3
    )  # claim, start, complete


def test_complete_without_goal_scopes_leaves_goals(fhir, run_tag, coordinator):
    patient = start_program(fhir, run_tag)
    first = stage_tasks(fhir, patient)[0]
    act(fhir, first, "start", coordinator)
    started = fhir.read("Task", first["id"])
    change_task(
        fhir,
        PROGRAM,
        started["id"],
        version(started),
        Intent("complete"),
        coordinator,
        NOW,
        advance_goals=False,
    )
    state = read_patient_record(fhir, patient).state(PROGRAM)
    assert [s.status for s in state.stages][:2] == ["completed", "ready"]
    goals = sorted(fhir.read("Goal", g)["lifecycleStatus"] for g in state.goal_ids)
    assert "completed" not in goals


def test_hold_needs_a_reason_then_resume_returns_to_where_it_was(fhir, run_tag, coordinator):
    patient = start_program(fhir, run_tag)
    task = stage_tasks(fhir, patient)[0]
    with pytest.raises(WorklistRefused, match="reason is needed"):
        act(fhir, task, "hold", coordinator, reason="  ")
    assert version(fhir.read("Task", task["id"])) == version(task)  # nothing written

    act(fhir, task, "hold", coordinator, reason="Patient travelling for two weeks")
    held = fhir.read("Task", task["id"])
    assert held["status"] == "on-hold"
    assert held["statusReason"]["text"] == "Patient travelling for two weeks"

    act(fhir, held, "resume", coordinator)
    resumed = fhir.read("Task", task["id"])
    assert resumed["status"] == "ready" and "statusReason" not in resumed  # never started


def test_cancel_with_reason(fhir, run_tag, coordinator):
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    act(fhir, task, "cancel", coordinator, reason="Patient moved away")
    cancelled = fhir.read("Task", task["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["statusReason"]["text"] == "Patient moved away"
    assert cancelled["executionPeriod"]["end"]


@pytest.mark.parametrize(
    "position, action, message",
    [
        (0, "complete", "A ready task cannot become completed"),
        (1, "start", "A draft task cannot become in-progress"),
        (0, "resume", "Only a task on hold can be resumed"),
    ],
)
def test_illegal_transitions_are_refused_and_write_nothing(
    fhir, run_tag, coordinator, position, action, message
):
    task = stage_tasks(fhir, start_program(fhir, run_tag))[position]
    with pytest.raises(WorklistRefused, match=message):
        act(fhir, task, action, coordinator)
    after = fhir.read("Task", task["id"])
    assert version(after) == version(task) and after["status"] == task["status"]
    assert provenance_for(fhir, task["id"]) == []


def test_a_closed_task_cannot_be_claimed(fhir, run_tag, coordinator):
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    act(fhir, task, "cancel", coordinator, reason="duplicate")
    with pytest.raises(WorklistRefused, match="closed"):
        act(fhir, fhir.read("Task", task["id"]), "claim", coordinator)


def test_stale_version_shows_who_changed_it_and_keeps_the_intent(fhir, run_tag, coordinator):
    other = add_practitioner(fhir, "Robin", "Other")
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    act(fhir, task, "claim", other)
    with pytest.raises(TaskConflict) as caught:
        act(fhir, task, "hold", coordinator, reason="waiting for imaging")  # the old version
    conflict = caught.value
    assert conflict.intent.action == "hold" and conflict.intent.reason == "waiting for imaging"
    assert conflict.current.row.version != version(task)
    assert conflict.current.row.owner == other.reference
    assert conflict.current.changed_by == other.display
    assert conflict.current.row.patient_name == "Alex Morgan"
    assert fhir.read("Task", task["id"])["status"] == "ready"  # the hold was not applied


def test_two_coordinators_claim_at_once_exactly_one_wins(fhir, run_tag, coordinator):
    other = add_practitioner(fhir, "Robin", "Other")
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def claim(actor: Actor) -> None:
        barrier.wait()
        try:
            outcomes[actor.display] = act(fhir, task, "claim", actor)
        except TaskConflict as exc:
            outcomes[actor.display] = exc

    threads = [threading.Thread(target=claim, args=(a,)) for a in (coordinator, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    losers = [o for o in outcomes.values() if isinstance(o, TaskConflict)]
    assert len(outcomes) == 2 and len(losers) == 1
    winner = next(name for name, o in outcomes.items() if not isinstance(o, TaskConflict))
    owner = fhir.read("Task", task["id"])["owner"]["display"]
    assert owner == winner
    assert losers[0].current.row.owner_name == winner  # the loser is told who has it
    assert version(fhir.read("Task", task["id"])) == str(int(version(task)) + 1)


def test_claiming_a_requested_review_accepts_it(fhir, run_tag, coordinator):
    patient = escalate(fhir, run_tag, "saddle-anaesthesia")
    review = fhir.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )[0]
    assert review["status"] == "requested" and review["priority"] == "stat"
    act(fhir, review, "claim", coordinator)
    accepted = fhir.read("Task", review["id"])
    assert accepted["status"] == "accepted" and accepted["owner"]["reference"] == coordinator.reference
    act(fhir, accepted, "start", coordinator)
    act(fhir, fhir.read("Task", review["id"]), "complete", coordinator)
    assert fhir.read("Task", review["id"])["status"] == "completed"


def test_a_red_flag_hold_is_not_lifted_by_the_coordinator(fhir, run_tag, coordinator):
    from fhir_rehab.services import program as svc
    from tests.coordinator.conftest import ALL_ABSENT

    patient = start_program(fhir, run_tag)
    svc.record_screen(
        fhir, PROGRAM, patient, {**ALL_ABSENT, "trauma": True}, coordinator, f"{run_tag}-positive"
    )
    held = stage_tasks(fhir, patient)[0]
    assert held["status"] == "on-hold"
    with pytest.raises(WorklistRefused, match="red flag"):
        act(fhir, held, "resume", coordinator)
    assert fhir.read("Task", held["id"])["status"] == "on-hold"


def test_assign_names_an_existing_practitioner(fhir, run_tag, coordinator):
    colleague = add_practitioner(fhir, "Dana", "Physio")
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    with pytest.raises(WorklistRefused, match="no such practitioner"):
        act(fhir, task, "assign", coordinator, owner="Practitioner/does-not-exist")
    with pytest.raises(WorklistRefused, match="Choose a practitioner"):
        act(fhir, task, "assign", coordinator, owner="Patient/1")
    done = act(fhir, task, "assign", coordinator, owner=colleague.reference)
    assert done.message == "Assigned to Dana Physio."
    assert fhir.read("Task", task["id"])["owner"]["display"] == "Dana Physio"


def test_claim_needs_a_practitioner_user(fhir, run_tag):
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    with pytest.raises(WorklistRefused, match="Only a Practitioner"):
        act(fhir, task, "claim", Actor(None, "someone"))


def test_a_task_that_is_not_the_apps_is_refused(fhir, coordinator):
    foreign = fhir.create(
        {"resourceType": "Task", "status": "ready", "intent": "order", "description": "Another app's task"}
    ).body
    with pytest.raises(NotAppTask):
        act(fhir, foreign, "claim", coordinator)
    assert version(fhir.read("Task", foreign["id"])) == version(foreign)
