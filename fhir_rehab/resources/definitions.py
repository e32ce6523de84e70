"""The publishable program definition: a PlanDefinition, ActivityDefinitions per stage and exercise."""

from __future__ import annotations

from fhir_rehab import codes as c
from fhir_rehab.program.model import PRECAUTION_LABELS, Exercise, Program, Stage
from fhir_rehab.resources.dose import build_dose_extension, build_timing
from fhir_rehab.resources.wire import Resource, concept

ACTIVITY_BASE = f"{c.CANONICAL_BASE}/ActivityDefinition"


def stage_definition_url(stage: Stage) -> str:
    return f"{ACTIVITY_BASE}/stage-{stage.key}"


def exercise_definition_url(exercise: Exercise) -> str:
    return f"{ACTIVITY_BASE}/exercise-{exercise.key}"


def stage_canonical(program: Program, stage: Stage) -> str:
    return f"{stage_definition_url(stage)}|{program.version}"


def exercise_canonical(program: Program, exercise: Exercise) -> str:
    return f"{exercise_definition_url(exercise)}|{program.version}"


def _usage(exercise: Exercise) -> str:
    """What a clinician choosing the exercise needs: level, equipment, direction, precautions."""
    parts = [f"Level: {exercise.level_label}.", f"Direction: {exercise.direction.value}."]
    parts.append("Equipment: " + (", ".join(exercise.equipment) or "none") + ".")
    if exercise.avoid:
        parts.append("Avoid with: " + ", ".join(sorted(PRECAUTION_LABELS[p] for p in exercise.avoid)) + ".")
    if exercise.nerve_tension:
        parts.append("Loads the sciatic nerve.")
    return " ".join(parts)


def build_exercise_definition(program: Program, exercise: Exercise) -> Resource:
    """A library exercise: instructions and default dose in words and as a structured schedule."""
    text = f"{exercise.instructions} Dose: {exercise.dosage.describe()}."
    if exercise.caution:
        text += f" Caution: {exercise.caution}"
    return {
        "resourceType": "ActivityDefinition",
        "extension": [build_dose_extension(exercise.dosage)],
        "url": exercise_definition_url(exercise),
        "version": program.version,
        "name": "Exercise" + "".join(p.title() for p in exercise.key.split("-")),
        "title": exercise.name,
        "status": "active",
        "publisher": program.publisher,
        "description": text,
        "usage": _usage(exercise),
        "topic": [{"text": f"Stage {n}"} for n in exercise.stages],
        "kind": "ServiceRequest",
        "code": concept(c.SCT_EXERCISE_THERAPY, exercise.name),
        "timingTiming": build_timing(exercise.dosage),
        "participant": [{"type": "patient"}],
    }


def build_stage_definition(program: Program, stage: Stage) -> Resource:
    return {
        "resourceType": "ActivityDefinition",
        "url": stage_definition_url(stage),
        "version": program.version,
        "name": "Stage" + "".join(p.title() for p in stage.key.split("-")),
        "title": f"Stage {stage.number}: {stage.title}",
        "status": "active",
        "publisher": program.publisher,
        "description": stage.summary,
        "purpose": "; ".join(stage.goals),
        "usage": " ".join(stage.education),
        "kind": "Task",
        "code": concept(stage.code, stage.title),
    }


def build_plan_definition(program: Program) -> Resource:
    """One action per stage, sequenced: each stage is done before the next one starts."""
    actions = []
    for stage in program.stages:
        following = program.next_stage(stage.number)
        action: Resource = {
            "id": stage.key,
            "prefix": f"Stage {stage.number}",
            "title": stage.title,
            "description": stage.summary,
            "code": [concept(stage.code, stage.title)],
            "goalId": [f"goal-{stage.key}"],
            "definitionCanonical": stage_canonical(program, stage),
            "action": [
                {
                    "title": e.name,
                    "description": e.dosage.describe(),
                    "definitionCanonical": exercise_canonical(program, e),
                }
                for e in stage.exercises
            ],
        }
        if following:
            action["relatedAction"] = [{"actionId": following.key, "relationship": "before-start"}]
        actions.append(action)
    return {
        "resourceType": "PlanDefinition",
        "url": program.url,
        "version": program.version,
        "name": program.name,
        "title": program.title,
        "type": concept(c.CLINICAL_PROTOCOL),
        "status": "active",
        "publisher": program.publisher,
        "description": program.description,
        "goal": [
            {"id": f"goal-{s.key}", "description": {"text": "; ".join(s.goals)}} for s in program.stages
        ],
        "action": actions,
    }


def build_definitions(program: Program) -> list[Resource]:
    """Every definition resource, PlanDefinition first, then stages, then the whole library."""
    out = [build_plan_definition(program)]
    out.extend(build_stage_definition(program, stage) for stage in program.stages)
    out.extend(build_exercise_definition(program, e) for e in program.all_exercises())
    return out
