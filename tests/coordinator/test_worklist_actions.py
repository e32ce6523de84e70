"""Coordinator actions on the real local server: lifecycle, If-Match, conflicts, refusals."""

from __future__ import annotations

import threading

import pytest

from fhir_rehab import codes as c
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.worklist import (
    NotAppTask,
    TaskConflict,
    WorklistRefused,
)
from tests.coordinator.conftest import (
    PROGRAM,
    act,
    add_practitioner,
    escalate,
    stage_tasks,
    start_program,
    version,
)


def provenance_for(fhir, task_id):
    """The updates recorded for a Task (its creation with the program left out)."""
    found = fhir.search_all("Provenance", {"target": f"Task/{task_id}"})
    return [p for p in found if p["activity"]["coding"][0]["code"] == c.OPERATION_UPDATE.code]


def test_claim_and_start_a_stage_but_completing_it_is_the_clinicians(fhir, run_tag, coordinator):
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

    with pytest.raises(WorklistRefused, match="completing a stage is a clinical decision"):
        act(fhir, started, "complete", coordinator)
    with pytest.raises(WorklistRefused, match="stopping therapy is a clinical decision"):
        act(fhir, started, "cancel", coordinator, reason="Patient moved away")
    assert version(fhir.read("Task", first["id"])) == version(started)  # nothing written

    authors = [p["agent"][0]["who"] for p in provenance_for(fhir, first["id"])]
    assert authors.count({"reference": coordinator.reference, "display": coordinator.display}) == 2


def test_a_coordinator_adds_a_note_to_a_review_and_a_stage(fhir, run_tag, coordinator):
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    with pytest.raises(WorklistRefused, match="Write the note first"):
        act(fhir, task, "note", coordinator, reason=" ")
    act(fhir, task, "note", coordinator, reason="Called the patient: exercises going well")
    noted = fhir.read("Task", task["id"])
    assert noted["status"] == task["status"]
    assert noted["note"][0]["text"] == "Called the patient: exercises going well"
    assert noted["note"][0]["authorReference"]["reference"] == coordinator.reference


def test_hold_needs_a_reason_then_resume_returns_to_where_it_was(fhir, run_tag, coordinator):
    patient = start_program(fhir, run_tag)
    task = stage_tasks(fhir, patient)[0]
    # R4 on-hold is "started, then paused": a stage not started yet cannot be put on hold
    with pytest.raises(WorklistRefused, match="Only a task under way can be put on hold"):
        act(fhir, task, "hold", coordinator, reason="Patient travelling for two weeks")
    assert version(fhir.read("Task", task["id"])) == version(task)  # nothing written
    act(fhir, task, "start", coordinator)
    task = fhir.read("Task", task["id"])
    with pytest.raises(WorklistRefused, match="reason is needed"):
        act(fhir, task, "hold", coordinator, reason="  ")
    assert version(fhir.read("Task", task["id"])) == version(task)  # nothing written

    act(fhir, task, "hold", coordinator, reason="Patient travelling for two weeks")
    held = fhir.read("Task", task["id"])
    assert held["status"] == "on-hold"
    assert held["statusReason"]["text"] == "Patient travelling for two weeks"

    act(fhir, held, "resume", coordinator)
    resumed = fhir.read("Task", task["id"])
    assert resumed["status"] == "in-progress" and "statusReason" not in resumed
    assert resumed["executionPeriod"]["start"] == task["executionPeriod"]["start"]


@pytest.mark.parametrize(
    "position, action, message",
    [
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
    from fhir_rehab.services.review import stop_program

    patient = start_program(fhir, run_tag)
    task = stage_tasks(fhir, patient)[0]
    stop_program(fhir, PROGRAM, patient, coordinator, "duplicate")
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


@pytest.mark.parametrize(
    "action,message",
    [
        ("complete", "only a clinician closes a medical review"),
        ("cancel", "cannot be cancelled"),
        ("hold", "cannot be put on hold"),
    ],
)
def test_a_coordinator_cannot_close_cancel_or_hold_a_review(fhir, run_tag, coordinator, action, message):
    patient = escalate(fhir, run_tag, "saddle-anaesthesia")
    review = fhir.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )[0]
    with pytest.raises(WorklistRefused, match=message):
        act(fhir, review, action, coordinator, reason="Spoke to the patient, feels fine")
    after = fhir.read("Task", review["id"])
    assert after["status"] == "requested" and version(after) == version(review)
    assert provenance_for(fhir, review["id"]) == []


def test_a_red_flag_hold_is_not_lifted_by_the_coordinator(fhir, run_tag, coordinator):
    from fhir_rehab.services import program as svc
    from tests.coordinator.conftest import ALL_ABSENT

    patient = start_program(fhir, run_tag)
    svc.record_screen(
        fhir, PROGRAM, patient, {**ALL_ABSENT, "trauma": True}, coordinator, f"{run_tag}-positive"
    )
    held = stage_tasks(fhir, patient)[0]
    assert held["status"] == "ready"  # never started: the plan is on hold, the stage stays ready
    with pytest.raises(WorklistRefused, match="red flag"):
        act(fhir, held, "start", coordinator)
    assert fhir.read("Task", held["id"])["status"] == "ready"


def test_a_stage_under_way_held_for_a_red_flag_is_not_resumed_by_the_coordinator(fhir, run_tag, coordinator):
    from fhir_rehab.services import program as svc
    from tests.coordinator.conftest import ALL_ABSENT

    patient = start_program(fhir, run_tag)
    act(fhir, stage_tasks(fhir, patient)[0], "start", coordinator)
    svc.record_screen(
        fhir, PROGRAM, patient, {**ALL_ABSENT, "trauma": True}, coordinator, f"{run_tag}-positive"
    )
    held = stage_tasks(fhir, patient)[0]
    assert held["status"] == "on-hold"
    with pytest.raises(WorklistRefused, match="red flag"):
        act(fhir, held, "resume", coordinator)
    assert fhir.read("Task", held["id"])["status"] == "on-hold"


def test_an_open_review_alone_keeps_the_coordinator_from_starting_a_stage(fhir, run_tag, coordinator):
    """A patient's self-check opens a review before (or without) a hold on the plan: the
    stage still cannot start (the CarePlan and the open review decide, read fresh)."""
    from fhir_rehab.services import program as svc
    from tests.coordinator.conftest import ALL_ABSENT

    patient = start_program(fhir, run_tag)
    svc.record_screen(
        fhir,
        PROGRAM,
        patient,
        {**ALL_ABSENT, "trauma": True},
        Actor(f"Patient/{patient}", "The patient"),
        f"{run_tag}-self-check",
        hold_program=False,
    )
    stage = stage_tasks(fhir, patient)[0]
    assert stage["status"] == "ready" and "statusReason" not in stage
    with pytest.raises(WorklistRefused, match="red flag"):
        act(fhir, stage, "start", coordinator)
    assert fhir.read("Task", stage["id"])["status"] == "ready"


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
