"""The program instance: CarePlan, one Task per stage (exercises as inputs), and Goals."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.program.model import Program, Stage
from fhir_rehab.resources.definitions import exercise_canonical, stage_canonical
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, concept, fhir_instant, ref

_EPISODE_NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4c1e-9a51-2f3e8d7c6b5a")


def episode_key(program: Program, patient_id: str, condition_id: str, sequence: int = 0) -> str:
    """The business identifier of one patient's program episode (deterministic, so a retry or
    a double click finds the same episode instead of creating a second one). `sequence` counts
    the patient's earlier episodes, so a program started again after one ended is a new one."""
    name = f"Patient/{patient_id}|Condition/{condition_id}|{program.canonical}"
    if sequence:
        name += f"|{sequence}"
    return str(uuid.uuid5(_EPISODE_NAMESPACE, name))


def stage_task_key(episode: str, stage: Stage) -> str:
    return f"{episode}.stage-{stage.number}"


def goal_key(episode: str, stage: Stage) -> str:
    return f"{episode}.goal-{stage.number}"


def goal_criteria(key: str) -> str:
    return f"_tag={c.WRITE_TAG}|{key}"


@dataclass(frozen=True)
class PlannedStage:
    """A stage with its planned window (Task.restriction.period)."""

    stage: Stage
    start: datetime
    end: datetime


def plan_windows(program: Program, start: datetime) -> list[PlannedStage]:
    """Each stage's window from the program's `start` (Program.window: consecutive stages)."""
    return [
        PlannedStage(stage, start + begins, start + due)
        for stage in program.stages
        for begins, due in [program.window(stage.number)]
    ]


def build_care_plan(
    program: Program,
    episode: str,
    patient_id: str,
    condition_id: str,
    actor: Actor,
    now: datetime,
    goal_refs: list[str],
    task_refs: list[str],
    screen_ref: str | None,
) -> Resource:
    plan: Resource = {
        "resourceType": "CarePlan",
        "identifier": [{"system": c.EPISODE_IDENTIFIER, "value": episode}],
        "instantiatesCanonical": [program.canonical],
        "status": "active",
        "intent": "plan",
        # US Core asks for this category; the physiotherapy kind is carried by the text.
        "category": [concept(c.CAREPLAN_ASSESS_PLAN, "Physiotherapy exercise program")],
        "title": program.title,
        "description": program.description,
        "subject": ref("Patient", patient_id),
        "period": {"start": fhir_instant(now)},
        "created": fhir_instant(now),
        "author": actor.as_reference(),
        "addresses": [ref("Condition", condition_id)],
        "goal": [{"reference": g} for g in goal_refs],
        # One activity per stage Task (activity.reference, not activity.detail: gone in R5).
        "activity": [{"reference": {"reference": t}} for t in task_refs],
    }
    if screen_ref:
        plan["supportingInfo"] = [{"reference": screen_ref}]
    return plan


def build_stage_task(
    program: Program,
    planned: PlannedStage,
    episode: str,
    patient_id: str,
    condition_id: str,
    care_plan_ref: str,
    actor: Actor,
    now: datetime,
    prescriptions: list[tuple[str, str]] | None = None,
) -> Resource:
    """Stage 1 starts `ready`; later stages start `draft` until the previous one completes.

    Inputs reference the stage's exercise ServiceRequests (`prescriptions`: name, reference);
    without them, the stage's standard exercises by canonical (programs started before 1.1.0).
    """
    stage = planned.stage
    first = stage.number == program.stages[0].number
    inputs: list[Resource] = [
        {
            "type": concept(c.APP_EXERCISE_INPUT, name),
            "valueReference": {"reference": reference, "display": name},
        }
        for name, reference in prescriptions or []
    ] or [
        {
            "type": concept(c.APP_EXERCISE_INPUT, exercise.name),
            "valueCanonical": exercise_canonical(program, exercise),
        }
        for exercise in stage.exercises
    ]
    return {
        "resourceType": "Task",
        "identifier": [{"system": c.TASK_IDENTIFIER, "value": stage_task_key(episode, stage)}],
        "instantiatesCanonical": stage_canonical(program, stage),
        "basedOn": [{"reference": care_plan_ref}],
        "status": "ready" if first else "draft",
        "businessStatus": concept(c.BS_NOT_STARTED),
        "intent": "plan",
        "priority": "routine",
        "code": concept(stage.code, f"Stage {stage.number}: {stage.title}"),
        "description": stage.summary,
        "for": ref("Patient", patient_id),
        "authoredOn": fhir_instant(now),
        "lastModified": fhir_instant(now),
        "requester": actor.as_reference(),
        "reasonReference": ref("Condition", condition_id),
        "restriction": {"period": {"start": fhir_instant(planned.start), "end": fhir_instant(planned.end)}},
        "input": inputs,
    }


def build_stage_goal(
    program: Program, planned: PlannedStage, episode: str, patient_id: str, condition_id: str, now: datetime
) -> Resource:
    stage = planned.stage
    first = stage.number == program.stages[0].number
    key = goal_key(episode, stage)
    goal: Resource = {
        "resourceType": "Goal",
        # Goal has no `identifier` search parameter on every server: the write tag carries the
        # same key so a retried transaction can create it conditionally (goal_criteria).
        "meta": {"tag": [{"system": c.WRITE_TAG, "code": key}]},
        "identifier": [{"system": c.GOAL_IDENTIFIER, "value": key}],
        "lifecycleStatus": "active" if first else "planned",
        "description": {"text": f"Stage {stage.number} ({stage.title}): " + "; ".join(stage.goals)},
        "subject": ref("Patient", patient_id),
        "startDate": planned.start.date().isoformat(),
        "addresses": [ref("Condition", condition_id)],
    }
    if first:
        goal["achievementStatus"] = concept(c.GOAL_IN_PROGRESS)
    if stage.progression.max_pain is not None:
        goal["target"] = [
            {
                "measure": concept(c.LOINC_PAIN_0_10),
                "detailQuantity": {
                    "value": stage.progression.max_pain,
                    "comparator": "<=",
                    "unit": "score",
                    "system": c.UCUM,
                    "code": "{score}",
                },
                "dueDate": planned.end.date().isoformat(),
            }
        ]
    return goal


# -- changes to a program's CarePlan and Goals (copies; the caller sends them with If-Match) ----
def _with_note(plan: Resource, text: str, now: datetime) -> Resource:
    out = copy.deepcopy(plan)
    out.setdefault("note", []).append({"time": fhir_instant(now), "text": text})
    return out


def hold_care_plan(plan: Resource, reason: str, now: datetime) -> Resource:
    """On hold, with the reason as a note (R4 CarePlan has no statusReason)."""
    out = _with_note(plan, f"On hold: {reason}. Urgent medical review.", now)
    out["status"] = "on-hold"
    return out


def reactivate_care_plan(plan: Resource, note: str, now: datetime) -> Resource:
    out = _with_note(plan, note, now)
    out["status"] = "active"
    return out


def end_care_plan(plan: Resource, status: str, now: datetime, note: str | None = None) -> Resource:
    """`completed` or `revoked`, with the period's end."""
    out = _with_note(plan, note, now) if note else copy.deepcopy(plan)
    out["status"] = status
    out.setdefault("period", {})["end"] = fhir_instant(now)
    return out


def note_stage_progress(
    plan: Resource, task_ref: str, text: str, now: datetime, note_id: str | None = None
) -> Resource:
    """Record progress on the activity that points to the stage's Task (`note_id`: the
    Annotation's element id, to find this note again)."""
    out = copy.deepcopy(plan)
    note: Resource = {"time": fhir_instant(now), "text": text}
    if note_id:
        note = {"id": note_id, **note}
    for activity in out.get("activity") or []:
        if (activity.get("reference") or {}).get("reference") == task_ref:
            activity.setdefault("progress", []).append(note)
    return out


def has_progress_note(plan: Resource | None, note_id: str) -> bool:
    """Whether a progress note with this element id is on one of the plan's activities."""
    return any(
        note.get("id") == note_id
        for activity in (plan or {}).get("activity") or []
        for note in activity.get("progress") or []
    )


def goal_stage_number(goal: Resource) -> int | None:
    """The stage a program Goal belongs to, from its identifier (`<episode>.goal-<n>`).

    >>> goal_stage_number({"identifier": [{"system": c.GOAL_IDENTIFIER, "value": "e.goal-2"}]})
    2
    """
    for ident in goal.get("identifier") or []:
        value = str(ident.get("value", ""))
        if ident.get("system") == c.GOAL_IDENTIFIER and ".goal-" in value:
            number = value.rsplit(".goal-", 1)[1]
            return int(number) if number.isdigit() else None
    return None


def set_goal_status(
    goal: Resource, status: str, now: datetime, achievement: c.Code | None = None
) -> Resource:
    out = copy.deepcopy(goal)
    out["lifecycleStatus"] = status
    out["statusDate"] = now.date().isoformat()
    if achievement is not None:
        out["achievementStatus"] = concept(achievement)
    return out


def advance_stage_goal(
    goal: Resource, completed_stage: int, now: datetime, *, criteria_met: bool = True
) -> Resource | None:
    """When stage n completes its Goal completes (achieved, or not achieved when the stage was
    completed with its measured criteria unmet) and stage n+1's becomes active; else None."""
    stage, status = goal_stage_number(goal), goal.get("lifecycleStatus")
    if stage == completed_stage and status != "completed":
        return set_goal_status(
            goal, "completed", now, c.GOAL_ACHIEVED if criteria_met else c.GOAL_NOT_ACHIEVED
        )
    if stage == completed_stage + 1 and status == "planned":
        return set_goal_status(goal, "active", now, c.GOAL_IN_PROGRESS)
    return None


def goal_following_plan(goal: Resource, plan_status: str, now: datetime) -> Resource | None:
    """A program Goal moved along with its CarePlan's new status (R4 goal-status); None when it
    does not change. One rule for every change of the plan:

    - plan on hold: the Goal being pursued (active) goes on-hold; a planned one (a later stage,
      not pursued yet) stays planned.
    - plan active again: an on-hold Goal is active again.
    - plan revoked: every Goal not finished is cancelled; one that was being pursued has not
      been reached (achievementStatus not-achieved), one never started gets no achievement.

    >>> now = datetime(2026, 1, 1)
    >>> goal_following_plan({"lifecycleStatus": "active"}, "on-hold", now)["lifecycleStatus"]
    'on-hold'
    >>> goal_following_plan({"lifecycleStatus": "planned"}, "on-hold", now) is None
    True
    """
    status = goal.get("lifecycleStatus")
    if plan_status == "on-hold" and status == "active":
        return set_goal_status(goal, "on-hold", now)
    if plan_status == "active" and status == "on-hold":
        return set_goal_status(goal, "active", now)
    if plan_status == "revoked" and status not in _GOAL_FINAL:
        pursued = status in {"active", "on-hold"} or bool(goal.get("achievementStatus"))
        return set_goal_status(goal, "cancelled", now, c.GOAL_NOT_ACHIEVED if pursued else None)
    return None


_GOAL_FINAL = frozenset({"completed", "cancelled", "entered-in-error", "rejected"})


# -- planned periods that move when a stage ends early or late (program.schedule) -------------
def reschedule_stage_task(task: Resource, start: datetime, end: datetime, now: datetime) -> Resource:
    """A copy of a stage Task whose planned period (restriction.period) is `start`-`end`."""
    out = copy.deepcopy(task)
    out.setdefault("restriction", {})["period"] = {"start": fhir_instant(start), "end": fhir_instant(end)}
    out["lastModified"] = fhir_instant(now)
    return out


def reschedule_stage_goal(goal: Resource, start: datetime, end: datetime) -> Resource:
    """A copy of a stage Goal that starts on `start`'s date and whose targets are due on `end`'s."""
    out = copy.deepcopy(goal)
    out["startDate"] = start.date().isoformat()
    for target in out.get("target") or []:
        if "dueDate" in target or "dueDuration" not in target:
            target["dueDate"] = end.date().isoformat()
    return out
