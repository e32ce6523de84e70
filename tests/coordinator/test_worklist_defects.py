"""Coordinator defects found by trying the worklist as a new user would: each test failed before
its fix (assigned reviews, claims taken unwarned, held programs, red flags, timeline)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import red_flag
from fhir_rehab.resources.worklist import Filters
from fhir_rehab.services import program as svc
from fhir_rehab.services.worklist import TaskConflict, WorklistRefused
from fhir_rehab.services.worklist_pages import Cursor, read_timeline, read_worklist
from fhir_rehab.web.coordinator import available_actions
from tests.coordinator.conftest import (
    ALL_ABSENT,
    NOW,
    PROGRAM,
    act,
    add_practitioner,
    escalate,
    stage_tasks,
    start_program,
    version,
)


def review_of(fhir, patient):
    found = fhir.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )
    assert len(found) == 1
    return found[0]


def test_a_review_assigned_to_someone_can_be_accepted_and_started_by_them(fhir, run_tag, coordinator):
    colleague = add_practitioner(fhir, "Dana", "Physio")
    review = review_of(fhir, escalate(fhir, run_tag, "saddle-anaesthesia"))
    act(fhir, review, "assign", coordinator, owner=colleague.reference)
    assigned = fhir.read("Task", review["id"])
    assert assigned["status"] == "requested" and assigned["owner"]["reference"] == colleague.reference

    row = read_timeline(fhir, PROGRAM, assigned["for"]["reference"].split("/")[1]).reviews[0]
    assert "accept" in available_actions(row, colleague.reference)
    assert "accept" not in available_actions(row, coordinator.reference)
    with pytest.raises(WorklistRefused, match="Only the person a task is assigned to"):
        act(fhir, assigned, "accept", coordinator)

    assert act(fhir, assigned, "accept", colleague).message == "Task accepted."
    accepted = fhir.read("Task", review["id"])
    assert accepted["status"] == "accepted"
    act(fhir, accepted, "start", colleague)
    assert fhir.read("Task", review["id"])["status"] == "in-progress"


def test_taking_another_persons_claim_needs_confirmation(fhir, run_tag, coordinator):
    other = add_practitioner(fhir, "Robin", "Other")
    task = stage_tasks(fhir, start_program(fhir, run_tag))[0]
    act(fhir, task, "claim", other)
    with pytest.raises(TaskConflict) as caught:
        act(fhir, task, "claim", coordinator)  # the version from before Robin's claim
    current = caught.value.current.row
    assert current.owner == other.reference

    # "Apply my change" from the conflict page, without confirming: refused, nothing written.
    newer = fhir.read("Task", task["id"])
    with pytest.raises(WorklistRefused, match="Robin Other has this task now"):
        act(fhir, newer, "claim", coordinator)
    with pytest.raises(WorklistRefused, match="Robin Other has this task now"):
        act(fhir, newer, "assign", coordinator, owner=coordinator.reference)
    assert version(fhir.read("Task", task["id"])) == version(newer)

    act(fhir, newer, "claim", coordinator, takeover_of=other.reference)
    assert fhir.read("Task", task["id"])["owner"]["reference"] == coordinator.reference


def test_a_held_program_is_one_row_with_its_stage_count(own_fhir, own_index):
    me = add_practitioner(own_fhir, "Casey", "Coordinator")
    held = start_program(own_fhir, "held", started=NOW - timedelta(days=1))  # due first
    running = start_program(own_fhir, "running")
    svc.record_screen(own_fhir, PROGRAM, held, {**ALL_ABSENT, "trauma": True}, me, str(uuid.uuid4()))
    rows = read_worklist(own_fhir, PROGRAM, own_index, Filters(), me=me.reference, now=NOW, page_size=20).rows
    assert [(r.patient_id, r.kind) for r in rows] == [(held, "review"), (held, "stage"), (running, "stage")]
    # the held program's stage 1 never started: it stays ready (R4) but reads as held, once
    assert rows[1].status == "ready" and rows[1].held and rows[1].list_status == "on-hold"
    assert rows[1].stage_count == 1 and rows[2].stage_count == 1 and not rows[2].held
    assert "start" not in available_actions(rows[1], me.reference)
    counts = read_worklist(own_fhir, PROGRAM, own_index, Filters(), me=me.reference, now=NOW).counts
    assert counts["on-hold"] == 1 and counts["ready"] == 1
    assert rows[0].red_flags == red_flag("trauma").label  # which red flag, in words

    # paged one row at a time, the held program still appears once
    seen, cursor = [], None
    while True:
        result = read_worklist(
            own_fhir,
            PROGRAM,
            own_index,
            Filters(status="on-hold"),
            me=me.reference,
            now=NOW,
            page_size=1,
            cursor=cursor,
        )
        seen += result.rows
        if result.following is None:
            break
        cursor = Cursor.from_dict(result.following.to_dict())
    assert [r.patient_id for r in seen] == [held] and seen[0].stage_count == 1


def test_review_rows_name_their_red_flags(fhir, run_tag):
    patient = escalate(fhir, run_tag, "bladder-bowel")
    row = read_timeline(fhir, PROGRAM, patient).reviews[0]
    assert row.red_flags == red_flag("bladder-bowel").label


def test_a_stage_that_never_started_has_no_start_or_end(fhir, run_tag, coordinator):
    from fhir_rehab.services.review import stop_program

    patient = start_program(fhir, run_tag)
    svc.record_oswestry(fhir, patient, 40, coordinator, str(uuid.uuid4()))
    svc.record_oswestry(fhir, patient, 28, coordinator, str(uuid.uuid4()))
    stop_program(fhir, PROGRAM, patient, coordinator, "Moved to another clinic")
    timeline = read_timeline(fhir, PROGRAM, patient)
    assert [s.status for s in timeline.state.stages] == ["cancelled"] * 5
    assert not any(s.was_started for s in timeline.state.stages)
    assert [s.value for s in timeline.state.oswestry] == [40, 28]
