"""The care coordinator's operations on one Task: claim, assign, note, and start, hold or resume a
stage; each one If-Match guarded, with Provenance, and a conflict that says who changed what.
Clinical acts (closing a review, completing or cancelling a stage) are refused (program.roles)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError, FhirNotFound, FhirUnavailable
from fhir_rehab.program.lifecycle import IllegalTransition, resume_status
from fhir_rehab.program.model import Program
from fhir_rehab.program.roles import coordinator_refusal
from fhir_rehab.program.words import status_words
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.tasks import add_note, change_task_status, is_red_flag_hold, set_owner
from fhir_rehab.resources.wire import Resource, ref_id, version_of
from fhir_rehab.resources.worklist import (
    OPEN,
    WorkRow,
    closes_itself,
    is_app_task,
    parse_rows,
    patient_name,
    task_kind,
)
from fhir_rehab.services.errors import NotAppTask, StaleVersion, WorklistRefused
from fhir_rehab.services.writes import add_provenance, commit

ACTIONS = ("claim", "accept", "assign", "start", "hold", "resume", "complete", "cancel", "note")
TARGETS = {
    "accept": "accepted",
    "start": "in-progress",
    "hold": "on-hold",
    "complete": "completed",
    "cancel": "cancelled",
}
NEEDS_REASON = frozenset({"hold", "cancel", "note"})
MAX_REASON = 500
_PRACTITIONER = re.compile(r"^Practitioner/[A-Za-z0-9\-.]{1,64}$")


@dataclass(frozen=True)
class Intent:
    """What the user asked for, kept whole so a conflict loses nothing."""

    action: str
    reason: str = ""
    owner: str | None = None  # assign: a Practitioner reference
    # claim/assign of a Task someone else owns: whose claim the user knowingly takes over
    # (the owner they saw). Without it the change is refused, so nobody loses a claim unwarned.
    takeover_of: str | None = None


@dataclass(frozen=True)
class Current:
    """A Task as it is now, and who changed it last (from its Provenance, when readable)."""

    row: WorkRow
    changed_by: str | None
    changed_at: str | None


class TaskConflict(StaleVersion):
    """Someone else changed the Task since the user saw it: here it is now, and their intent."""

    def __init__(self, current: Current, intent: Intent) -> None:
        super().__init__()
        self.current = current
        self.intent = intent


@dataclass(frozen=True)
class Done:
    """What a successful change did, and the answers to `reads` read in its transaction."""

    message: str
    next_task: str | None = None
    reads: tuple[Resource | None, ...] = ()
    server_date: str | None = None


def read_current(client: FhirClient, program: Program, task_id: str) -> Current:
    """The Task with its patient (one search), and its latest Provenance if the scopes allow."""
    bundle = client.search(*q.tasks_with_patients([task_id]))
    rows = parse_rows(program, bundle)
    if not rows:
        raise FhirNotFound(f"Task {task_id} was not found.")
    by, at = None, None
    try:
        found = client.search(*q.latest_provenance(f"Task/{task_id}"))
    except FhirUnavailable:
        raise
    except FhirError:  # e.g. 403: a coordinator may create Provenance but not read it
        found = {}
    for entry in found.get("entry") or []:
        prov = entry.get("resource") or {}
        author = next((a.get("who") or {} for a in prov.get("agent") or []), {})
        by = author.get("display") or author.get("reference")
        at = prov.get("recorded")
    return Current(rows[0], by, at)


def _read_app_task(client: FhirClient, task_id: str) -> Resource:
    if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", task_id):
        raise FhirNotFound("No such Task.")
    task = client.read("Task", task_id)
    if not is_app_task(task):
        raise NotAppTask()
    return task


def _refuse(message: str) -> WorklistRefused:
    return WorklistRefused(message)


def change_task(
    client: FhirClient,
    program: Program,
    task_id: str,
    version: str,
    intent: Intent,
    actor: Actor,
    now: datetime,
    *,
    owner_name: str | None = None,
    reads: Sequence[str] = (),
) -> Done:
    """Apply one coordinator action to the Task the user saw at `version`.

    Raises NotAppTask, WorklistRefused (nothing written) or TaskConflict (the Task moved on:
    the current state and the user's intent come with it). `reads` (e.g. the worklist page's
    batch, services.worklist_pages.page_reads) are answered in the same transaction, after the
    write (`Done.reads`).
    """
    if intent.action not in ACTIONS:
        raise _refuse("Unknown action.")
    task = _read_app_task(client, task_id)
    kind = task_kind(task)
    refused = coordinator_refusal(kind, intent.action, closes_itself=closes_itself(task))
    if refused:
        raise _refuse(refused)
    if version_of(task) != version:
        raise TaskConflict(read_current(client, program, task_id), intent)
    try:
        updated, message = _apply(client, task, intent, actor, now, owner_name)
    except IllegalTransition as exc:
        raise _refuse(str(exc)) from None
    tx = Transaction()
    tx.update(updated, if_match=version)
    add_provenance(
        tx, [f"Task/{task_id}"], actor, now, c.OPERATION_UPDATE, f"{task_id}.{version}.{intent.action}"
    )
    for url in reads:
        tx.read(url)
    try:
        result = commit(client, tx)
    except StaleVersion:
        raise TaskConflict(read_current(client, program, task_id), intent) from None
    return Done(message, reads=result.reads, server_date=client.server_date)


def _apply(
    client: FhirClient, task: Resource, intent: Intent, actor: Actor, now: datetime, owner_name: str | None
) -> tuple[Resource, str]:
    """The Task after the action (checked against the R4 state machine) and what to say."""
    status = task["status"]
    if intent.action in ("claim", "assign"):
        if status == "draft":
            raise _refuse("A draft task is a later stage: it can be assigned once it is ready.")
        if status not in OPEN:
            raise _refuse(f"This task is {status_words(status)}: it is closed and cannot change.")
        owner = actor.reference if intent.action == "claim" else intent.owner
        if not owner or not _PRACTITIONER.match(owner):
            raise _refuse(
                "Only a Practitioner can own a task, and your sign-in names none."
                if intent.action == "claim"
                else "Choose a practitioner."
            )
        holder = task.get("owner") or {}
        if holder.get("reference") not in (None, owner, actor.reference) and (
            intent.takeover_of != holder.get("reference")
        ):
            raise _refuse(
                f"{holder.get('display') or holder.get('reference')} has this task now. Confirm "
                "that you want to take it from them before your change is applied."
            )
        name = actor.display if intent.action == "claim" else _practitioner_name(client, owner, owner_name)
        updated = set_owner(task, {"reference": owner, "display": name}, now)
        if intent.action == "claim" and status in ("requested", "received"):
            # R4: the owner agreeing to do a requested task is what "accepted" means.
            updated = change_task_status(updated, "accepted", now)
        return updated, ("Task claimed." if intent.action == "claim" else f"Assigned to {name}.")
    if intent.action == "accept":
        owner = (task.get("owner") or {}).get("reference")
        if not actor.reference or owner != actor.reference:
            raise _refuse("Only the person a task is assigned to can accept it; claim it first.")
        if status not in ("requested", "received"):
            raise _refuse(
                f"Only a task waiting to be accepted can be accepted; this one is {status_words(status)}."
            )
        return change_task_status(task, "accepted", now), "Task accepted."
    reason = intent.reason.strip()
    if intent.action == "note" and not reason:
        raise _refuse("Write the note first.")
    if intent.action in NEEDS_REASON and not reason:
        raise _refuse(f"Say why: a reason is needed to {intent.action} a task.")
    if len(reason) > MAX_REASON:
        what = "note" if intent.action == "note" else "reason"
        raise _refuse(f"Keep the {what} under {MAX_REASON} characters.")
    if intent.action == "note":
        return add_note(task, reason, actor.as_reference(), now), "Note added."
    if intent.action in {"start", "resume", "complete", "hold"} and is_red_flag_hold(task):
        raise _refuse(_RED_FLAG_HOLD)
    if intent.action in {"start", "resume"} and _is_stage(task):
        _refuse_while_paused(client, task)
    started = bool((task.get("executionPeriod") or {}).get("start"))
    target = resume_status(started) if intent.action == "resume" else TARGETS[intent.action]
    if intent.action == "resume" and status != "on-hold":
        raise _refuse(f"Only a task on hold can be resumed; this one is {status_words(status)}.")
    if intent.action == "hold" and status != "in-progress":
        raise _refuse(
            f"Only a task under way can be put on hold; this one is {status_words(status)}. "
            "Add a note instead, or start it first."
        )
    updated = change_task_status(task, target, now, reason=reason or None)
    return updated, f"Task is now {status_words(target)}."


_RED_FLAG_HOLD = (
    "This stage is on hold because a red flag is present. It resumes only "
    "after medical review, when the clinician records a clear screen."
)


def _is_stage(task: Resource) -> bool:
    return task_kind(task) == "stage"


def _refuse_while_paused(client: FhirClient, task: Resource) -> None:
    """A stage starts or resumes only in a running program: its CarePlan active and no open
    red-flag review for the patient (a patient's self-check opens one before any hold is on
    the plan). Read fresh, by id; a read that fails refuses (nothing is written)."""
    plan_id = next(filter(None, (ref_id(b, "CarePlan") for b in task.get("basedOn") or [])), None)
    patient_id = ref_id(task.get("for"), "Patient")
    if not plan_id or not patient_id:
        raise _refuse("This stage is not part of a program the app can check: nothing was changed.")
    plan, reviews = client.batch(q.program_guard(plan_id, patient_id), missing_ok=True)
    if plan is None or plan.get("status") != "active":
        raise _refuse(
            "The program is not running (on hold for a medical review, or ended): the stage cannot start."
        )
    if (reviews or {}).get("entry"):
        raise _refuse(_RED_FLAG_HOLD)


def practitioner_display(client: FhirClient, reference: str | None) -> str | None:
    """A Practitioner's name to show a person (None when it is not one or cannot be read)."""
    if not reference or not _PRACTITIONER.match(reference):
        return None
    try:
        return patient_name(client.read("Practitioner", reference.split("/", 1)[1])) or None
    except FhirError:
        return None


def _practitioner_name(client: FhirClient, reference: str, given: str | None) -> str:
    """The assignee must exist; their name is read from the server."""
    try:
        practitioner = client.read("Practitioner", reference.split("/", 1)[1])
    except FhirNotFound:
        raise _refuse("There is no such practitioner.") from None
    return patient_name(practitioner) or given or reference
