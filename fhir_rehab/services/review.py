"""The red-flag medical review: record it (the only way a review Task closes), then resume the
program on hold, or stop it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.ids import check_free_text
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState
from fhir_rehab.program.review import OUTCOMES, Outcome, ReviewState
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.careplan import end_care_plan, reactivate_care_plan
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import CLINICIAN_VIEW, RecordView
from fhir_rehab.resources.review import MAX_NOTE, build_review_outcome, record_review_on_task
from fhir_rehab.resources.tasks import change_task_status, lift_red_flag_hold
from fhir_rehab.resources.wire import fhir_instant, ref_id
from fhir_rehab.services.errors import ProgramRefused, ReviewRefused, StaleVersion
from fhir_rehab.services.program import (
    goals_follow_plan,
    refuse_without_clear_screen,
    review_guard,
    still_clear_after,
)
from fhir_rehab.services.record import PatientRecord, commit_reading_back, read_patient_record
from fhir_rehab.services.tailoring import follow_stage
from fhir_rehab.services.writes import WriteResult, add_provenance, utcnow


def _on_hold(state: ProgramState) -> None:
    """On hold, or paused by an open review (raised by the patient's self-check)."""
    if state.careplan_id is None or not state.paused or state.careplan_status not in ("active", "on-hold"):
        raise ProgramRefused("The program is not on hold.")


def resume_program(
    client: FhirClient,
    program: Program,
    patient_id: str,
    actor: Actor,
    *,
    max_screen_age_days: int = 7,
    now: datetime | None = None,
    record: PatientRecord | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """Lift the hold after medical review: needs every red-flag review closed by a recorded
    review, and a new complete, clear screen.

    The CarePlan becomes active again and each held stage goes back to where it was
    (in-progress if work had started, ready if it is the current stage, else draft). Nothing
    here closes a review Task: only a recorded review does.

    One round trip with `record` (the page's; the record is then read back in the same
    transaction, `.after`). The checks above use `record`; what may have changed since is
    caught inside the transaction (If-Match on all it changes; a review opened since makes the
    review guard match twice: StaleVersion, nothing written) or on the record read back (a
    newer screen that is not clear: the program is held again at once, ProgramRefused).
    """
    now = now or utcnow()
    known = record
    if known is not None:
        read_after = read_after or CLINICIAN_VIEW
    record = known or read_patient_record(client, patient_id)
    state = record.state(program)
    _on_hold(state)
    refuse_without_clear_screen(state, max_screen_age_days, now, "resume")
    if state.current is None:
        raise ProgramRefused("The program has no open stage to resume: stop it and start a new one.")
    tx = Transaction()
    plan = reactivate_care_plan(
        record.get(f"CarePlan/{state.careplan_id}"), "Resumed after medical review; screen clear.", now
    )
    targets = [tx.update(plan, if_match=state.careplan_version)]
    first_open = True
    for stage in state.stages:
        if not stage.is_open:
            continue
        task = record.get(f"Task/{stage.task_id}")
        lifted = lift_red_flag_hold(task, now, first_open=first_open)
        if lifted is None and stage is state.current:  # the guard below needs its If-Match
            lifted = {**task, "lastModified": fhir_instant(now)}
        if lifted is not None:
            targets.append(tx.update(lifted, if_match=stage.version))
            targets += follow_stage(tx, record, stage, str(lifted["status"]))
        first_open = False
    targets += goals_follow_plan(tx, client, record, state, "active", now)
    add_provenance(
        tx, targets, actor, now, c.OPERATION_UPDATE, f"{state.careplan_id}.{state.careplan_version}.resume"
    )
    review_guard(tx, record, state.current, patient_id)
    write = commit_reading_back(client, tx, patient_id, read_after, record)
    if read_after is not None:
        still_clear_after(client, program, write, read_after, actor, max_screen_age_days, now, "resume")
    return write


def stop_program(
    client: FhirClient,
    program: Program,
    patient_id: str,
    actor: Actor,
    reason: str,
    *,
    now: datetime | None = None,
    record: PatientRecord | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """End the program (CarePlan revoked, open stages cancelled with the reason), for example
    when the medical review finds a cause that rules out exercise therapy.

    With `record` (the page's) nothing is read first: every update is If-Match guarded on its
    versions, and the record is read back in the same transaction (`.after`)."""
    now = now or utcnow()
    if not reason.strip():
        raise ProgramRefused("Give a reason for stopping the program.")
    try:
        reason = check_free_text(reason, what="The reason")
    except ValueError as exc:
        raise ProgramRefused(str(exc)) from None
    if record is not None:
        read_after = read_after or CLINICIAN_VIEW
    record = record or read_patient_record(client, patient_id)
    state = record.state(program)
    if state.careplan_id is None or state.careplan_status not in {"active", "on-hold"}:
        raise ProgramRefused("There is no running program to stop.")
    tx = Transaction()
    targets = _end_program(tx, client, record, state, reason, now)
    add_provenance(
        tx, targets, actor, now, c.OPERATION_UPDATE, f"{state.careplan_id}.{state.careplan_version}.stop"
    )
    return commit_reading_back(client, tx, patient_id, read_after, record)


# -- the review itself ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewResult:
    write: WriteResult
    review: ReviewState
    outcome: Outcome
    closed: bool  # the review Task is now completed
    program_stopped: bool


def record_review(
    client: FhirClient,
    program: Program,
    patient_id: str,
    task_id: str,
    outcome: Outcome,
    note: str,
    reviewer: Actor,
    *,
    expected_version: str | None = None,
    now: datetime | None = None,
    record: PatientRecord | None = None,
    read_after: RecordView | None = None,
) -> ReviewResult:
    """Record a clinician's medical review of an open red-flag review Task, in one transaction:
    the outcome Observation (performer: the reviewer), the Task's output, status and reason,
    Provenance naming the reviewer, and, for "stopped", the plan revoked and its stages
    cancelled. Only a Practitioner can record it; the Task's version guards against a race.

    With `record` (the review form's) nothing is read first: the Task and everything a stop
    changes are If-Match guarded on its versions, and the record is read back in the same
    transaction (`.write.after`). Sent twice, the outcome is created once (conditional create
    on its identifier) and the second write fails on the Task's If-Match (StaleVersion).
    """
    now = now or utcnow()
    if not (reviewer.reference or "").startswith("Practitioner/"):
        raise ReviewRefused("Only a clinician signed in as a practitioner can record a medical review.")
    try:
        note = check_free_text(note, max_chars=MAX_NOTE, what="The note")
    except ValueError as exc:
        raise ReviewRefused(str(exc)) from None
    if not note:
        raise ReviewRefused("Write a note: what you found and what you advised.")
    rule = OUTCOMES[outcome]
    if record is not None:
        read_after = read_after or CLINICIAN_VIEW
    record = record or read_patient_record(client, patient_id)
    state = record.state(program)
    review = next((r for r in state.reviews if r.task_id == task_id and r.is_open), None)
    if review is None:
        raise ReviewRefused("That review is not open for this patient (it may have been recorded already).")
    if expected_version is not None and expected_version != review.version:
        raise StaleVersion()
    task = record.get(f"Task/{task_id}")
    panel_ref = (task.get("focus") or {}).get("reference")
    tx = Transaction()
    key = f"{task_id}.{review.version}.review"
    outcome_ref = tx.create(
        build_review_outcome(rule, note, patient_id, reviewer, now, task_id, panel_ref, key),
        if_none_exist=f"identifier={c.SUBMISSION_IDENTIFIER}|{key}",
    )
    targets = [
        outcome_ref,
        tx.update(record_review_on_task(task, rule, outcome_ref, reviewer, now), if_match=review.version),
    ]
    stopped = rule.program == "revoke" and state.careplan_status in {"active", "on-hold"}
    if stopped:
        targets += _end_program(tx, client, record, state, f"Medical review: {rule.label}. {note}", now)
    add_provenance(tx, targets, reviewer, now, c.OPERATION_UPDATE, f"{key}.provenance")
    write = commit_reading_back(client, tx, patient_id, read_after, record)
    return ReviewResult(write, review, outcome, rule.closes, stopped)


def _end_program(
    tx: Transaction,
    client: FhirClient,
    record: PatientRecord,
    state: ProgramState,
    reason: str,
    now: datetime,
) -> list[str]:
    """CarePlan revoked, every open stage cancelled with the reason, and the Goals follow their
    plan (whether a clinician stops it or a medical review does)."""
    plan = end_care_plan(
        record.get(f"CarePlan/{state.careplan_id}"), "revoked", now, note=f"Stopped: {reason}"
    )
    targets = [tx.update(plan, if_match=state.careplan_version)]
    for stage in state.stages:
        if stage.is_open:
            task = change_task_status(record.get(f"Task/{stage.task_id}"), "cancelled", now, reason=reason)
            targets.append(tx.update(task, if_match=stage.version))
            targets += follow_stage(tx, record, stage, "cancelled")
    targets += goals_follow_plan(tx, client, record, state, "revoked", now)
    return targets


def review_panel_id(record: PatientRecord, task_id: str) -> str | None:
    """The screen a review Task is about."""
    task = record.find(f"Task/{task_id}")
    return ref_id((task or {}).get("focus"), "Observation")
