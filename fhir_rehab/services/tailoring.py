"""Tailored exercises: the proposed plan, writing it, changing it, and keeping it in step.

Each prescribed exercise is a ServiceRequest (see `resources.prescriptions`); its status follows
its stage: draft until the stage is handed over, active while it runs, on hold with the program,
completed with the stage, revoked when removed or when the program stops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.lifecycle import OPEN_STATUSES
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState, StageState
from fhir_rehab.program.tailoring import Prescribed, Profile, Proposal, propose_stage, unconfirmed
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.careplan import note_stage_progress
from fhir_rehab.resources.prescriptions import (
    build_prescription,
    prescription_key,
    revise_prescription,
    set_prescription_status,
    set_task_prescriptions,
)
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import RecordView
from fhir_rehab.resources.wire import Resource, identifier_value
from fhir_rehab.services.errors import ProgramRefused, StaleVersion
from fhir_rehab.services.record import PatientRecord, commit_reading_back, read_patient_record
from fhir_rehab.services.writes import WriteResult, add_provenance, utcnow

Plan = Mapping[int, Sequence[Prescribed]]
STATUS_FOR_TASK = {
    "draft": "draft",
    "requested": "active",
    "received": "active",
    "accepted": "active",
    "ready": "active",
    "in-progress": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "cancelled": "revoked",
    "failed": "revoked",
}
_FINAL = {"completed", "revoked", "entered-in-error"}
EDITABLE_STAGES = OPEN_STATUSES  # every stage not finished yet


def propose_plan(program: Program, state: ProgramState) -> dict[int, Proposal]:
    """Per stage: the defaults the latest assessment chooses."""
    profile = Profile.of(state.latest_assessment)
    return {stage.number: propose_stage(program, stage, profile) for stage in program.stages}


def refuse_unconfirmed(plan: Plan, state: ProgramState) -> None:
    """Every conflict with the assessment must be confirmed by the clinician first."""
    profile = Profile.of(state.latest_assessment)
    open_ = [w for items in plan.values() for _, words in unconfirmed(items, profile) for w in words]
    if open_:
        raise ProgramRefused("Confirm or change these first: " + " ".join(open_))


def follow_stage(tx: Transaction, record: PatientRecord, stage: StageState, task_status: str) -> list[str]:
    """Move the stage's exercise ServiceRequests along with its Task (If-Match on each)."""
    target = STATUS_FOR_TASK.get(task_status)
    targets = []
    for item in stage.prescriptions:
        if target is None or item.request_id is None or item.status in _FINAL or item.status == target:
            continue
        request = record.find(f"ServiceRequest/{item.request_id}")
        if request is not None:
            targets.append(tx.update(set_prescription_status(request, target), if_match=item.version))
    return targets


def update_plan(
    client: FhirClient,
    program: Program,
    patient_id: str,
    plan: Plan,
    actor: Actor,
    submission_id: str,
    *,
    seen: Mapping[int, str | None] | None = None,
    now: datetime | None = None,
    record: PatientRecord | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """Apply the clinician's changes to the stages still to come or under way, in one transaction.

    Removed exercises are revoked, changed ones revised, new ones created; each stage Task then
    references its current list, and the change is noted on the stage's CarePlan activity.
    Every update carries the version the clinician saw (If-Match), and `seen` holds each stage
    Task's version as shown: a change by someone else since (or the same form sent twice) fails
    the whole save with StaleVersion. The CarePlan's If-Match makes that true of the program as
    a whole: a red-flag hold, a stage completed or a stop since the page fails the save even
    when it changes another stage.

    One round trip: with `record` (what the clinician's page showed) nothing is read first, and
    `read_after` reads the record back in the same transaction (`.after`).
    """
    now = now or utcnow()
    known = record
    record = record or read_patient_record(client, patient_id)
    state = record.state(program)
    if state.careplan_id is None or state.careplan_status not in {"active", "on-hold"}:
        raise ProgramRefused("There is no running program to change.")
    refuse_unconfirmed(plan, state)
    care_plan = record.get(f"CarePlan/{state.careplan_id}")
    episode = identifier_value(care_plan, c.EPISODE_IDENTIFIER) or state.careplan_id
    tx = Transaction()
    targets: list[str] = []
    for stage in state.stages:
        if stage.stage.number not in plan or stage.status not in EDITABLE_STAGES:
            continue
        if seen and seen.get(stage.stage.number) not in (None, stage.version):
            raise StaleVersion()
        changed = _update_stage(
            tx, program, record, state, stage, plan[stage.stage.number], episode, actor, now, submission_id
        )
        if changed:
            care_plan = _note_change(care_plan, stage, now)
        targets += changed
    if not targets:
        return WriteResult(())
    targets.append(tx.update(care_plan, if_match=state.careplan_version))
    add_provenance(tx, targets, actor, now, c.OPERATION_UPDATE, f"{submission_id}.plan")
    return commit_reading_back(client, tx, patient_id, read_after, known)


def _note_change(care_plan: Resource, stage: StageState, now: datetime) -> Resource:
    """The plan says, on the stage's activity, that its exercises were changed (and when)."""
    return note_stage_progress(
        care_plan, f"Task/{stage.task_id}", f"Stage {stage.stage.number} exercises changed", now
    )


def _update_stage(
    tx: Transaction,
    program: Program,
    record: PatientRecord,
    state: ProgramState,
    stage: StageState,
    items: Sequence[Prescribed],
    episode: str,
    actor: Actor,
    now: datetime,
    submission_id: str,
) -> list[str]:
    if not items:
        raise ProgramRefused(f"Stage {stage.stage.number} needs at least one exercise.")
    current = {p.request_id: p for p in stage.prescriptions if p.request_id}
    status = STATUS_FOR_TASK.get(stage.status, "draft")
    targets: list[str] = []
    refs: list[tuple[str, str]] = []
    kept = set()
    for item in items:
        old = current.get(item.request_id) if item.request_id else None
        if old is not None:
            kept.add(old.request_id)
            ref = f"ServiceRequest/{old.request_id}"
            if _changed(old, item):
                revised = revise_prescription(program, record.get(ref), item, actor, now)
                targets.append(tx.update(revised, if_match=item.version or old.version))
            refs.append((item.exercise.name, ref))
            continue
        key = prescription_key(episode, stage.stage.number, item.exercise.key, submission_id[:12])
        request = build_prescription(
            program,
            item,
            key=key,
            patient_id=state.patient_id,
            care_plan_ref=f"CarePlan/{state.careplan_id}",
            condition_id=state.condition_id,
            actor=actor,
            now=now,
            status=status,
        )
        urn = tx.create(request, if_none_exist=identifier_criteria(c.EXERCISE_IDENTIFIER, key))
        targets.append(urn)
        refs.append((item.exercise.name, urn))
    for request_id, old in current.items():
        if request_id not in kept and old.status not in _FINAL:
            request = record.get(f"ServiceRequest/{request_id}")
            targets.append(tx.update(set_prescription_status(request, "revoked"), if_match=old.version))
    before = [(p.exercise.name, f"ServiceRequest/{p.request_id}") for p in stage.prescriptions]
    if refs != before or targets:
        task = set_task_prescriptions(record.get(f"Task/{stage.task_id}"), refs)
        targets.append(tx.update(task, if_match=stage.version))
    return targets


def _changed(old: Prescribed, new: Prescribed) -> bool:
    return (old.exercise.key, old.dosage, old.side, old.note, old.confirmed) != (
        new.exercise.key,
        new.dosage,
        new.side,
        new.note,
        new.confirmed,
    )


def read_state(client: FhirClient, program: Program, patient_id: str) -> tuple[PatientRecord, ProgramState]:
    record = read_patient_record(client, patient_id)
    return record, record.state(program)
