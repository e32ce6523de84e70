"""The care coordinator's operations on one Task: claim, assign, note, and start, hold or resume a
stage; each one If-Match guarded, with Provenance, and a conflict that says who changed what.
Clinical acts (closing a review, completing or cancelling a stage) are refused (program.roles)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError, FhirInvalid, FhirNotFound, FhirUnavailable
from fhir_rehab.program.lifecycle import IllegalTransition, resume_status
from fhir_rehab.program.model import Program
from fhir_rehab.program.roles import coordinator_refusal
from fhir_rehab.program.words import status_words
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.patch import patch_document
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.state import parse_stage_task
from fhir_rehab.resources.tasks import (
    add_note,
    add_review_guard,
    change_task_status,
    is_red_flag_hold,
    set_owner,
)
from fhir_rehab.resources.wire import Resource, parse_instant, ref_id, version_of
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
    task: Resource | None = None  # the Task as read (whole): what "apply my change" is decided on


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
    task = next(
        (e["resource"] for e in bundle.get("entry") or [] if (e.get("resource") or {}).get("id") == task_id),
        None,
    )
    return Current(rows[0], by, at, task)


def _read_app_task(client: FhirClient, task_id: str) -> Resource:
    if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", task_id):
        raise FhirNotFound("No such Task.")
    task = client.read("Task", task_id)
    if not is_app_task(task):
        raise NotAppTask()
    return task


def _refuse(message: str) -> WorklistRefused:
    return WorklistRefused(message)


@dataclass(frozen=True)
class Seen:
    """The Task as the user's page showed it (the elements the worklist reads, at its version),
    what the page knew of its program, and the practitioners the page listed. An action is
    decided on this and written as a patch of those elements: one round trip."""

    task: Resource
    # The stage's CarePlan status, read in the same batch as `task` (never before a newer
    # version of it): `_guard_reviews` relies on that.
    plan_status: str | None = None
    roster: Mapping[str, str] = field(default_factory=dict)  # Practitioner reference -> name


class _ReadFirst(Exception):
    """What the row shows cannot decide the action: read the Task and decide on it instead."""


def change_task(
    client: FhirClient,
    program: Program,
    task_id: str,
    version: str,
    intent: Intent,
    actor: Actor,
    now: datetime,
    *,
    reads: Sequence[str] = (),
    seen: Seen | None = None,
) -> Done:
    """Apply one coordinator action to the Task the user saw at `version`.

    Raises NotAppTask, WorklistRefused (nothing written) or TaskConflict (the Task moved on:
    the current state and the user's intent come with it). `reads` (e.g. the worklist page's
    batch, services.worklist_pages.page_reads) are answered in the same transaction, after the
    write (`Done.reads`).

    With `seen` (the row the page showed, at `version`) the action is one transaction: a patch
    of the elements it changes that applies only to that version, Provenance, for a stage that
    starts or resumes the open-review guards, and `reads`. Whatever the row could not know
    (someone changed the Task, a review was opened, the practitioner is gone) fails it whole,
    and the action is decided again on the Task read in full (`_change_read_first`): a conflict,
    a refusal, or the change made on what is there now.
    """
    if intent.action not in ACTIONS:
        raise _refuse("Unknown action.")
    change = _Change(client, program, task_id, version, intent, actor, now, tuple(reads))
    if seen is not None and _usable(seen.task, task_id, version):
        try:
            return _change_seen(change, seen)
        except _ReadFirst:
            pass
    return _change_read_first(change)


@dataclass(frozen=True)
class _Change:
    """One action as posted: what either way of deciding and writing it needs."""

    client: FhirClient
    program: Program
    task_id: str
    version: str
    intent: Intent
    actor: Actor
    now: datetime
    reads: tuple[str, ...]

    def commit(self, tx: Transaction, targets: list[str], message: str) -> Done:
        """Provenance of the change and the page's reads in `tx`, then the one round trip."""
        key = f"{self.task_id}.{self.version}.{self.intent.action}"
        add_provenance(tx, targets, self.actor, self.now, c.OPERATION_UPDATE, key)
        for url in self.reads:
            tx.read(url)
        result = commit(self.client, tx)
        return Done(message, reads=result.reads, server_date=self.client.server_date)


def _usable(task: Resource, task_id: str, version: str) -> bool:
    return task.get("id") == task_id and bool(version) and version_of(task) == version and is_app_task(task)


def _change_seen(change: _Change, seen: Seen) -> Done:
    """The action decided on the row the user saw, written in one round trip."""
    task = seen.task
    _refuse_clinical(task, change.intent)

    def name_of(owner: str) -> str:
        if owner not in seen.roster:
            raise _ReadFirst()  # not a practitioner the page listed: read it
        return seen.roster[owner] or owner

    guarded: list[bool] = []

    def running(stage: Resource) -> None:
        if seen.plan_status is None:
            raise _ReadFirst()
        if seen.plan_status != "active":
            raise _refuse(_NOT_RUNNING)
        guarded.append(True)

    updated, message = _decide(task, change, name_of, running)
    patient_id = ref_id(task.get("for"), "Patient")
    tx = Transaction()
    tx.patch("Task", change.task_id, patch_document(task, updated, change.version))
    if guarded:
        _guard_reviews(tx, change.program, task, str(patient_id))
    targets = [f"Task/{change.task_id}", *([f"Patient/{patient_id}"] if patient_id else [])]
    try:
        return change.commit(tx, targets, message)
    except (StaleVersion, FhirInvalid, FhirNotFound):
        # The patch's version test (HAPI: 400, sekmet-fhir: 422), a review guard (412), an
        # unknown practitioner (HAPI: 400), a Task gone (404): nothing was written.
        raise _ReadFirst() from None


# The stage surely matches its own `_lastUpdated=ge` bound, and a batch's reads (run in
# parallel by HAPI) are well within this of each other.
_GUARD_SLACK = timedelta(seconds=1)


def _guard_reviews(tx: Transaction, program: Program, stage: Resource, patient_id: str) -> None:
    """A stage starts or resumes only with no review open, and none opened or closed since the
    stage last changed. With the stage's version tested, that keeps the program status the page
    read (active, in the batch that read this version) true until the write: a program is held
    only with a review written (open, or closed since: both fail here), and stopped or completed
    only with its open stages changed (the version test fails). Both conditions are checked
    inside the transaction (resources.tasks.add_review_guard)."""
    parsed = parse_stage_task(program, stage)
    changed = parse_instant((stage.get("meta") or {}).get("lastUpdated"))
    if parsed is None or changed is None:
        raise _ReadFirst()
    add_review_guard(tx, stage, parsed.stage.code, patient_id)
    add_review_guard(tx, stage, parsed.stage.code, patient_id, since=changed - _GUARD_SLACK)


def _change_read_first(change: _Change) -> Done:
    """The action decided on the Task read in full, written as an If-Match update."""
    client = change.client
    task = _read_app_task(client, change.task_id)
    _refuse_clinical(task, change.intent)
    if version_of(task) != change.version:
        raise TaskConflict(read_current(client, change.program, change.task_id), change.intent)
    updated, message = _decide(
        task,
        change,
        lambda owner: _practitioner_name(client, owner),
        lambda stage: _refuse_while_paused(client, stage),
    )
    tx = Transaction()
    tx.update(updated, if_match=change.version)
    try:
        return change.commit(tx, [f"Task/{change.task_id}"], message)
    except StaleVersion:
        raise TaskConflict(read_current(client, change.program, change.task_id), change.intent) from None


def _refuse_clinical(task: Resource, intent: Intent) -> None:
    refused = coordinator_refusal(task_kind(task), intent.action, closes_itself=closes_itself(task))
    if refused:
        raise _refuse(refused)


def _decide(
    task: Resource,
    change: _Change,
    name_of: Callable[[str], str],
    running: Callable[[Resource], None],
) -> tuple[Resource, str]:
    try:
        return _apply(task, change.intent, change.actor, change.now, name_of, running)
    except IllegalTransition as exc:
        raise _refuse(str(exc)) from None


def _apply(
    task: Resource,
    intent: Intent,
    actor: Actor,
    now: datetime,
    name_of: Callable[[str], str],
    running: Callable[[Resource], None],
) -> tuple[Resource, str]:
    """The Task after the action (checked against the R4 state machine) and what to say.
    `name_of` names the assignee (refusing an unknown one); `running` refuses a stage whose
    program is paused."""
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
        name = actor.display if intent.action == "claim" else name_of(owner)
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
        running(task)
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
        raise _refuse(_NOT_RUNNING)
    if (reviews or {}).get("entry"):
        raise _refuse(_RED_FLAG_HOLD)


_NOT_RUNNING = "The program is not running (on hold for a medical review, or ended): the stage cannot start."


def practitioner_display(client: FhirClient, reference: str | None) -> str | None:
    """A Practitioner's name to show a person (None when it is not one or cannot be read)."""
    if not reference or not _PRACTITIONER.match(reference):
        return None
    try:
        return patient_name(client.read("Practitioner", reference.split("/", 1)[1])) or None
    except FhirError:
        return None


def _practitioner_name(client: FhirClient, reference: str) -> str:
    """The assignee must exist; their name is read from the server."""
    try:
        practitioner = client.read("Practitioner", reference.split("/", 1)[1])
    except FhirNotFound:
        raise _refuse("There is no such practitioner.") from None
    return patient_name(practitioner) or reference
