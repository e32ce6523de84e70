"""After a red-flag review: resume the program on hold, or stop it."""

from __future__ import annotations

from datetime import datetime, timedelta

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.ids import check_free_text
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.careplan import end_care_plan, end_goal, reactivate_care_plan
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.tasks import advance_task, change_task_status, lift_red_flag_hold
from fhir_rehab.resources.wire import version_of
from fhir_rehab.services.errors import ProgramRefused
from fhir_rehab.services.record import PatientRecord, plan_goals, read_patient_record
from fhir_rehab.services.tailoring import follow_stage
from fhir_rehab.services.writes import WriteResult, add_provenance, commit, utcnow


def _on_hold(state: ProgramState) -> None:
    """On hold, or paused by an open review (raised by the patient's self-check)."""
    if state.careplan_id is None or not state.paused or state.careplan_status not in ("active", "on-hold"):
        raise ProgramRefused("The program is not on hold.")


def _close_reviews(
    tx: Transaction, record: PatientRecord, state: ProgramState, now: datetime, outcome: str
) -> list[str]:
    """Open review Tasks are completed with the review's outcome as their reason."""
    targets = []
    for task_id in state.review_task_ids:
        task = record.get(f"Task/{task_id}")
        done = advance_task(task, "completed", now, reason=outcome)
        targets.append(tx.update(done, if_match=version_of(task)))
    return targets


def resume_program(
    client: FhirClient,
    program: Program,
    patient_id: str,
    actor: Actor,
    *,
    max_screen_age_days: int = 30,
    now: datetime | None = None,
) -> WriteResult:
    """Lift the hold after medical review: needs a new clear screen taken after the hold.

    The CarePlan becomes active again, each held stage goes back to where it was (in-progress if
    work had started, ready if it is the current stage, else draft) and open reviews complete.
    """
    now = now or utcnow()
    record = read_patient_record(client, patient_id)
    state = record.state(program)
    _on_hold(state)
    screen = state.latest_screen
    if (
        screen is None
        or screen.positive
        or screen.when is None
        or now - screen.when > timedelta(days=max_screen_age_days)
    ):
        raise ProgramRefused(
            "Record a new red-flag screen with no red flags (after the medical "
            "review) before resuming the program."
        )
    tx = Transaction()
    plan = reactivate_care_plan(
        record.get(f"CarePlan/{state.careplan_id}"), "Resumed after medical review; screen clear.", now
    )
    targets = [tx.update(plan, if_match=state.careplan_version)]
    first_open = True
    for stage in state.stages:
        if not stage.is_open:
            continue
        lifted = lift_red_flag_hold(record.get(f"Task/{stage.task_id}"), now, first_open=first_open)
        if lifted is not None:
            targets.append(tx.update(lifted, if_match=stage.version))
            targets += follow_stage(tx, record, stage, str(lifted["status"]))
        first_open = False
    targets += _close_reviews(tx, record, state, now, "Reviewed: cleared to resume exercise")
    add_provenance(
        tx, targets, actor, now, c.OPERATION_UPDATE, f"{state.careplan_id}.{state.careplan_version}.resume"
    )
    return commit(client, tx)


def stop_program(
    client: FhirClient,
    program: Program,
    patient_id: str,
    actor: Actor,
    reason: str,
    *,
    now: datetime | None = None,
) -> WriteResult:
    """End the program (CarePlan revoked, open stages cancelled with the reason), for example
    when the medical review finds a cause that rules out exercise therapy."""
    now = now or utcnow()
    if not reason.strip():
        raise ProgramRefused("Give a reason for stopping the program.")
    try:
        reason = check_free_text(reason, what="The reason")
    except ValueError as exc:
        raise ProgramRefused(str(exc)) from None
    record = read_patient_record(client, patient_id)
    state = record.state(program)
    if state.careplan_id is None or state.careplan_status not in {"active", "on-hold"}:
        raise ProgramRefused("There is no running program to stop.")
    tx = Transaction()
    plan = end_care_plan(
        record.get(f"CarePlan/{state.careplan_id}"), "revoked", now, note=f"Stopped: {reason}"
    )
    targets = [tx.update(plan, if_match=state.careplan_version)]
    for stage in state.stages:
        if stage.is_open:
            task = change_task_status(record.get(f"Task/{stage.task_id}"), "cancelled", now, reason=reason)
            targets.append(tx.update(task, if_match=stage.version))
            targets += follow_stage(tx, record, stage, "cancelled")
    for goal in plan_goals(client, record, state):  # the Goals follow their plan
        ended = end_goal(goal, now)
        if ended is not None:
            targets.append(tx.update(ended, if_match=version_of(goal)))
    targets += _close_reviews(tx, record, state, now, f"Reviewed: program stopped ({reason})")
    add_provenance(
        tx, targets, actor, now, c.OPERATION_UPDATE, f"{state.careplan_id}.{state.careplan_version}.stop"
    )
    return commit(client, tx)
