"""A recorded medical review as FHIR: the outcome Observation and the review Task it closes."""

from __future__ import annotations

from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.program.review import OutcomeRule
from fhir_rehab.resources.observations import submission_identifier
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.tasks import advance_task
from fhir_rehab.resources.wire import Resource, concept, fhir_instant, ref

MAX_NOTE = 2000


def build_review_outcome(
    rule: OutcomeRule,
    note: str,
    patient_id: str,
    reviewer: Actor,
    now: datetime,
    task_id: str,
    panel_ref: str | None,
    key: str,
) -> Resource:
    """The outcome as an Observation the EHR can show: code "red-flag review outcome", value
    the outcome, performer the reviewer, focus the review Task, derived from the screen."""
    obs: Resource = {
        "resourceType": "Observation",
        "identifier": submission_identifier(key),
        "status": "final",
        "category": [concept(c.CATEGORY_EXAM)],
        "code": concept(c.APP_REVIEW_OUTCOME),
        "subject": ref("Patient", patient_id),
        "focus": [ref("Task", task_id)],
        "effectiveDateTime": fhir_instant(now),
        "issued": fhir_instant(now),
        "performer": [reviewer.as_reference()],
        "valueCodeableConcept": concept(rule.code),
        "note": [{"text": note, "time": fhir_instant(now), "authorReference": reviewer.as_reference()}],
    }
    if panel_ref:
        obs["derivedFrom"] = [{"reference": panel_ref}]
    return obs


def record_review_on_task(
    task: Resource, rule: OutcomeRule, outcome_ref: str, reviewer: Actor, now: datetime
) -> Resource:
    """The review Task after the reviewer's act: the outcome in `output` (the code and the
    Observation), the reviewer as owner. Cleared or stopped completes it with the outcome as
    statusReason; a referral keeps it in progress, its businessStatus saying where it went."""
    target = "completed" if rule.closes else "in-progress"
    if task["status"] != target:
        task = advance_task(task, target, now, reason=rule.label if rule.closes else None)
    else:
        task = {**task, "lastModified": fhir_instant(now)}
    task["owner"] = reviewer.as_reference()
    task["businessStatus"] = concept(rule.code)
    if rule.closes:
        task["statusReason"] = concept(rule.code)
    outputs = list(task.get("output") or [])
    outputs.append({"type": concept(c.APP_REVIEW_OUTCOME), "valueCodeableConcept": concept(rule.code)})
    outputs.append({"type": concept(c.APP_REVIEW_RECORD), "valueReference": {"reference": outcome_ref}})
    task["output"] = outputs
    return task
