"""A home exercise session as an R4 Observation the EHR can search, and back again.

Modelled on the HL7 Physical Activity IG 1.0.0: category `activity`, code LOINC 73985-4
"Exercise activity", the kind of activity as the value (SNOMED CT 229065009 Exercise therapy),
the patient as subject and performer, `effectiveDateTime` when it was done. The program's
exercises done in the session are components (the app's exercise codes), and `basedOn` names
the CarePlan and `focus` the stage Task, so
`Observation?patient=..&code=http://loinc.org|73985-4&date=ge..` finds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.program.adherence import ExerciseSession
from fhir_rehab.program.model import Exercise
from fhir_rehab.resources.observations import submission_identifier
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, codes_of, concept, fhir_instant, parse_instant, ref


def build_exercise_session(
    exercises: Sequence[Exercise],
    patient_id: str,
    actor: Actor,
    now: datetime,
    key: str,
    care_plan_id: str | None,
    stage_task_id: str | None,
) -> Resource:
    """One session: which of the stage's exercises were done, by whom, when."""
    if not exercises:
        raise ValueError("a session needs at least one exercise")
    obs: Resource = {
        "resourceType": "Observation",
        "identifier": submission_identifier(key),
        "status": "final",
        "category": [concept(c.CATEGORY_ACTIVITY)],
        "code": concept(c.LOINC_EXERCISE_ACTIVITY, "Home exercise session"),
        "subject": ref("Patient", patient_id),
        "effectiveDateTime": fhir_instant(now),
        "issued": fhir_instant(now),
        "valueCodeableConcept": concept(c.SCT_EXERCISE_THERAPY),
        "component": [
            {
                "code": concept(c.APP_EXERCISE_DONE),
                "valueCodeableConcept": {
                    "coding": [{"system": c.EXERCISE_CODES, "code": e.key, "display": e.name}],
                    "text": e.name,
                },
            }
            for e in exercises
        ],
    }
    if actor.reference:
        obs["performer"] = [actor.as_reference()]
    if care_plan_id:
        obs["basedOn"] = [ref("CarePlan", care_plan_id)]
    if stage_task_id:
        obs["focus"] = [ref("Task", stage_task_id)]  # the stage the exercises belong to
    return obs


def parse_sessions(resources: Iterable[Resource]) -> tuple[ExerciseSession, ...]:
    """Every session logged, oldest first."""
    code = (c.LOINC_EXERCISE_ACTIVITY.system, c.LOINC_EXERCISE_ACTIVITY.code)
    out = []
    for obs in resources:
        if obs.get("resourceType") != "Observation" or code not in codes_of(obs.get("code")):
            continue
        when = parse_instant(obs.get("effectiveDateTime"))
        if when is None or obs.get("status") == "entered-in-error":
            continue
        done = tuple(
            coding["code"]
            for comp in obs.get("component") or []
            for coding in (comp.get("valueCodeableConcept") or {}).get("coding") or []
            if coding.get("system") == c.EXERCISE_CODES and isinstance(coding.get("code"), str)
        )
        out.append(ExerciseSession(when, done, str(obs.get("id", ""))))
    return tuple(sorted(out, key=lambda s: s.when))
