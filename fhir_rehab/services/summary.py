"""A plain, JSON-ready summary of a program state, for the CLI and the JSON views."""

from __future__ import annotations

from typing import Any

from fhir_rehab.program.progression import ProgramState


def describe_state(state: ProgramState) -> dict[str, Any]:
    current = state.current
    screen = state.latest_screen
    pain = state.latest_pain
    return {
        "patient": f"Patient/{state.patient_id}",
        "program": state.program.canonical,
        "carePlan": f"CarePlan/{state.careplan_id}" if state.careplan_id else None,
        "carePlanStatus": state.careplan_status,
        # On hold, or paused by an open red-flag review: no stage starts or completes.
        "paused": state.paused,
        "stages": [
            {
                "stage": s.stage.number,
                "title": s.stage.title,
                "task": f"Task/{s.task_id}",
                "status": s.status,
                "businessStatus": s.business_status,
                "plannedEnd": s.planned_end,
            }
            for s in state.stages
        ],
        "currentStage": current.stage.number if current else None,
        "currentExercises": [
            {"name": e.name, "dosage": e.dosage.describe()} for e in (current.exercises if current else ())
        ],
        "latestScreen": (
            {
                "observation": f"Observation/{screen.panel_id}",
                "when": screen.when,
                "positive": list(screen.positive_keys),
            }
            if screen
            else None
        ),
        "latestPain": (
            {"score": pain.value, "when": pain.when, "observation": f"Observation/{pain.observation_id}"}
            if pain
            else None
        ),
        "openReviewTasks": [f"Task/{t}" for t in state.review_task_ids],
    }
