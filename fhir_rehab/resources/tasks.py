"""Task resources beyond the stage builder: the urgent review Task and status changes."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fhir_rehab import codes as c
from fhir_rehab.program.lifecycle import ACTIONABLE_STATUSES, check_transition, transition_path
from fhir_rehab.program.redflags import ESCALATIONS, Level, ScreenOutcome
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.observations import submission_identifier
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, concept, fhir_instant, ref

# How soon a review is due (Task.restriction.period.end), by level: one table, in the domain.
REVIEW_DUE: dict[Level, timedelta] = {level: e.due for level, e in ESCALATIONS.items()}
BUSINESS_STATUS_FOR = {
    "draft": c.BS_NOT_STARTED,
    "ready": c.BS_NOT_STARTED,
    "in-progress": c.BS_IN_PROGRESS,
    "completed": c.BS_COMPLETED,
    "on-hold": c.BS_ON_HOLD,
    "cancelled": c.BS_CANCELLED,
}


def build_review_task(
    outcome: ScreenOutcome,
    patient_id: str,
    panel_ref: str,
    actor: Actor,
    now: datetime,
    key: str,
    care_plan_id: str | None,
) -> Resource:
    """The medical-review Task a positive screen writes: its level's priority and due time
    (program.redflags.ESCALATIONS), the findings in words, and the clinician's advice."""
    escalation = outcome.escalation or ESCALATIONS[Level.EMERGENCY]  # fail closed
    found = "; ".join(f.label for f in outcome.positives)
    advice = " ".join(dict.fromkeys([escalation.clinician_advice, *(f.advice for f in outcome.positives)]))
    task: Resource = {
        "resourceType": "Task",
        "identifier": submission_identifier(key),
        "status": "requested",
        "intent": "order",
        "priority": escalation.priority,
        "code": concept(c.APP_MEDICAL_REVIEW),
        "description": f"Red flags present: {found}. {escalation.name}: {advice}",
        "focus": {"reference": panel_ref},
        "for": ref("Patient", patient_id),
        "authoredOn": fhir_instant(now),
        "lastModified": fhir_instant(now),
        "requester": actor.as_reference(),
        "reasonReference": {"reference": panel_ref},
        "restriction": {"period": {"start": fhir_instant(now), "end": fhir_instant(now + escalation.due)}},
        "note": [{"text": f"Advice given to the patient: {escalation.patient_advice}"}],
    }
    if care_plan_id:
        task["basedOn"] = [ref("CarePlan", care_plan_id)]
    return task


def change_task_status(
    task: Resource,
    target: str,
    now: datetime,
    *,
    reason: str | None = None,
    reason_code: c.Code | None = None,
) -> Resource:
    """A copy of `task` moved to `target`, if the R4 state machine allows it.

    Keeps executionPeriod (what happened) and businessStatus (the milestone) in step.
    """
    check_transition(task["status"], target)
    out = copy.deepcopy(task)
    out["status"] = target
    out["lastModified"] = fhir_instant(now)
    period = out.setdefault("executionPeriod", {})
    if target == "in-progress" and "start" not in period:
        period["start"] = fhir_instant(now)
    if target == "completed":
        period.setdefault("start", fhir_instant(now))
    if target in {"completed", "cancelled", "failed"}:
        # A Task cancelled before it started has an end and no start: it never ran.
        period["end"] = fhir_instant(now)
    if not period:
        del out["executionPeriod"]
    if target in BUSINESS_STATUS_FOR and _is_stage(out):
        out["businessStatus"] = concept(BUSINESS_STATUS_FOR[target])
    if reason or reason_code:
        out["statusReason"] = concept(reason_code, reason) if reason_code else {"text": reason}
    elif target not in {"on-hold", "cancelled", "failed", "rejected"}:
        out.pop("statusReason", None)
    return out


def hold_for_red_flag(task: Resource, reason: str, now: datetime) -> Resource | None:
    """A stage Task under a red-flag hold of its program; None when it does not change.

    R4 on-hold means "started, but work has been paused" (task.html#statemachine), so only a
    stage under way (in-progress) goes on hold. The current stage that has not started stays
    `ready`: the CarePlan on hold and the open review Task carry the hold, and the stage's
    businessStatus ("Awaiting medical review") and statusReason say why it is not to be
    started. A later stage (draft, not yet actionable) does not change.
    """
    status = task.get("status")
    if status == "in-progress":
        return change_task_status(task, "on-hold", now, reason=reason, reason_code=c.APP_RED_FLAG_HOLD)
    if status in {"requested", "received", "accepted", "ready"}:
        out = copy.deepcopy(task)
        out["statusReason"] = concept(c.APP_RED_FLAG_HOLD, reason)
        if _is_stage(out):
            out["businessStatus"] = concept(c.BS_ON_HOLD)
        out["lastModified"] = fhir_instant(now)
        return out
    return None


def lift_red_flag_hold(task: Resource, now: datetime, *, first_open: bool) -> Resource | None:
    """Undo hold_for_red_flag after a clear screen; None when the Task carries no hold.

    An on-hold stage goes back to in-progress (it had started). A stage kept from starting
    loses the reason and says "Not started" again. Holds older versions of the app put on
    stages never started (on-hold without an execution start) go back to ready, or to draft
    for a later stage.
    """
    status = task.get("status")
    if status == "on-hold":
        started = bool((task.get("executionPeriod") or {}).get("start"))
        target = "in-progress" if started else "ready" if first_open else "draft"
        return change_task_status(task, target, now)
    if is_red_flag_hold(task) or (
        _is_stage(task) and (c.BS_ON_HOLD.system, c.BS_ON_HOLD.code) in _codings(task.get("businessStatus"))
    ):
        out = copy.deepcopy(task)
        if is_red_flag_hold(out):
            out.pop("statusReason", None)
        if _is_stage(out) and status in BUSINESS_STATUS_FOR:
            out["businessStatus"] = concept(BUSINESS_STATUS_FOR[str(status)])
        out["lastModified"] = fhir_instant(now)
        return out
    return None


def _codings(value: Any) -> set[tuple[str, str]]:
    return {(str(cd.get("system")), str(cd.get("code"))) for cd in (value or {}).get("coding") or []}


def is_red_flag_hold(task: Resource) -> bool:
    """The Task is held (or kept from starting) because a red flag is present."""
    reason = task.get("statusReason") or {}
    return any(
        cd.get("system") == c.APP_RED_FLAG_HOLD.system and cd.get("code") == c.APP_RED_FLAG_HOLD.code
        for cd in reason.get("coding") or []
    )


def advance_task(task: Resource, target: str, now: datetime, **reason: Any) -> Resource:
    """Move `task` to `target` through the shortest chain of allowed R4 steps."""
    for step in transition_path(task["status"], target):
        task = change_task_status(task, step, now, **reason if step == target else {})
    return task


def _is_stage(task: Resource) -> bool:
    """A stage Task (follow-ups written before 2026-11-26 share the identifier system)."""
    return "instantiatesCanonical" in task and any(
        i.get("system") == c.TASK_IDENTIFIER for i in task.get("identifier") or []
    )


def set_owner(task: Resource, owner: dict[str, str] | None, now: datetime) -> Resource:
    """A copy of `task` assigned to `owner` (a Reference), or unassigned with None."""
    out = copy.deepcopy(task)
    if owner:
        out["owner"] = owner
    else:
        out.pop("owner", None)
    out["lastModified"] = fhir_instant(now)
    return out


def add_note(task: Resource, text: str, author: dict[str, str], now: datetime) -> Resource:
    """A copy of `task` with one more note (author and time), status unchanged."""
    out = copy.deepcopy(task)
    out.setdefault("note", []).append({"authorReference": author, "time": fhir_instant(now), "text": text})
    out["lastModified"] = fhir_instant(now)
    return out


def mark_completed_early(task: Resource, reason: str, actor: Actor, now: datetime) -> Resource:
    """A completed stage whose measured criteria were not met: businessStatus "completed early"
    (never "criteria met"), the clinician's reason as statusReason and as a note."""
    out = copy.deepcopy(task)
    out["businessStatus"] = concept(c.BS_COMPLETED_EARLY)
    out["statusReason"] = concept(c.BS_COMPLETED_EARLY, f"Completed early: {reason}")
    out.setdefault("note", []).append(
        {
            "authorReference": actor.as_reference(),
            "time": fhir_instant(now),
            "text": f"Completed early: {reason}",
        }
    )
    return out


@dataclass(frozen=True)
class FollowUpRule:
    """Why the program asks the care team to follow a patient up, and how: every follow-up is
    ONE kind of Task (code `home-program-follow-up`), its reason in Task.reasonCode."""

    reason: c.Code
    priority: str
    due: timedelta
    closed_by: str | None  # "screen": the next red-flag screen; "review": a clinician's
    # recorded review; None: the care team completes it (a call back)


FOLLOW_UP_RULES: dict[str, FollowUpRule] = {
    # After a pain flare: screen again (urgent, a day); the next screen completes it.
    c.APP_RESCREEN.code: FollowUpRule(c.APP_RESCREEN, "urgent", timedelta(days=1), "screen"),
    # Four weeks in a stage without improvement: a clinician reviews (routine, a week).
    c.APP_PROGRESS_REVIEW.code: FollowUpRule(c.APP_PROGRESS_REVIEW, "routine", timedelta(days=7), "review"),
    # What the patient logs at home (no session for 7 days, pain up 3): a call back in two days.
    c.APP_FOLLOW_UP.code: FollowUpRule(c.APP_FOLLOW_UP, "routine", timedelta(days=2), None),
}


def build_follow_up(
    reason: c.Code,
    why: str,
    patient_id: str,
    care_plan_id: str | None,
    actor: Actor,
    now: datetime,
    key: str,
) -> Resource:
    """A follow-up Task for the care team's worklist (after the urgent reviews), its priority
    and due time from FOLLOW_UP_RULES; idempotent by `key` (its submission identifier)."""
    rule = FOLLOW_UP_RULES[reason.code]
    home = reason == c.APP_FOLLOW_UP
    task: Resource = {
        "resourceType": "Task",
        "identifier": submission_identifier(key),
        "status": "requested",
        "intent": "order",
        "priority": rule.priority,
        "code": concept(c.APP_FOLLOW_UP),
        "description": why if home else f"{reason.display}: {why}.",
        "for": ref("Patient", patient_id),
        "authoredOn": fhir_instant(now),
        "lastModified": fhir_instant(now),
        "requester": actor.as_reference(),
        "reasonCode": {"text": why} if home else concept(reason, why),
        "restriction": {"period": {"start": fhir_instant(now), "end": fhir_instant(now + rule.due)}},
    }
    if care_plan_id:
        task["basedOn"] = [ref("CarePlan", care_plan_id)]
    return task


def close_follow_up(task: Resource, done_by: str, now: datetime) -> Resource:
    """A repeat-screen follow-up completed by the screen that answers it (output: the screen)."""
    out = advance_task(task, "completed", now, reason="Red-flag screen repeated")
    out["output"] = [
        *(out.get("output") or []),
        {"type": concept(c.APP_RED_FLAG_PANEL), "valueReference": {"reference": done_by}},
    ]
    return out


def add_review_guard(
    tx: Transaction,
    stage_task: Resource,
    stage_code: c.Code,
    patient_id: str,
    *,
    since: datetime | None = None,
) -> None:
    """A condition inside the transaction: no red-flag review of this patient is open (or, with
    `since`, none was opened or changed since then).

    FHIR has no "fail unless absent" entry, but a conditional create whose criteria match more
    than one resource fails the transaction (R4 http.html#ccreate: 412; HAPI and sekmet-fhir
    do so). The criteria match this patient's Tasks that are either the stage (`stage_task`,
    with its id) or a medical review: open ones, or (with `since`) those last changed at or
    after `since`. While all is well that is the stage alone, so the entry creates nothing (a
    match answers 200); one review more, and the write fails whole. `since` must not be after
    the stage's own last change (the stage must match). Should the stage itself have changed,
    the transaction's guarded write of it (If-Match, or a patch testing its version) fails it
    anyway, so the body (the stage as the caller knows it, under another identifier) is never
    kept.
    """
    codes = f"{stage_code.system}|{stage_code.code},{c.APP_MEDICAL_REVIEW.system}|{c.APP_MEDICAL_REVIEW.code}"
    if since is None:
        criteria = f"patient={patient_id}&status={','.join(ACTIONABLE_STATUSES)}&code={codes}"
        suffix = "review-guard"
    else:
        criteria = urlencode(
            [("patient", patient_id), ("code", codes), ("_lastUpdated", f"ge{fhir_instant(since)}")]
        )
        suffix = "review-guard-since"
    body = {k: v for k, v in stage_task.items() if k not in ("id", "meta", "text")}
    body["identifier"] = [{"system": c.TASK_IDENTIFIER, "value": f"{stage_task['id']}.{suffix}"}]
    tx.create(body, if_none_exist=criteria)
