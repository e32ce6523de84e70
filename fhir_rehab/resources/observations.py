"""Observations the app records: red-flag answers and their panel, pain 0-10, Oswestry score."""

from __future__ import annotations

from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import CURRENT_SCREEN, RedFlag, ScreenOutcome, ScreenVersion
from fhir_rehab.resources.errors import ScoreOutOfRange
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import Resource, concept, fhir_instant, ref


def submission_identifier(value: str) -> list[dict[str, str]]:
    return [{"system": c.SUBMISSION_IDENTIFIER, "value": value}]


def _observation(
    code: c.Code,
    text: str | None,
    patient_id: str,
    actor: Actor,
    now: datetime,
    key: str,
    category: c.Code = c.CATEGORY_SURVEY,
) -> Resource:
    obs: Resource = {
        "resourceType": "Observation",
        "identifier": submission_identifier(key),
        "status": "final",
        "category": [concept(category)],
        "code": concept(code, text),
        "subject": ref("Patient", patient_id),
        "effectiveDateTime": fhir_instant(now),
        "issued": fhir_instant(now),
    }
    if actor.reference:
        obs["performer"] = [actor.as_reference()]
    return obs


def build_red_flag_answer(
    flag: RedFlag, present: bool, patient_id: str, actor: Actor, now: datetime, key: str
) -> Resource:
    """One question and its yes/no answer: Observation.code is the QUESTION (never the finding),
    so a denied finding cannot read as present to a system that looks only at the code.

    Both answers are recorded. (Version 1 wrote the finding code with value Present/Absent;
    those are still read, never written.)
    """
    obs = _observation(flag.question_code, flag.question, patient_id, actor, now, key)
    obs["valueBoolean"] = present
    return obs


def build_red_flag_panel(
    member_refs: list[str],
    positive: bool,
    patient_id: str,
    actor: Actor,
    now: datetime,
    key: str,
    *,
    version: ScreenVersion = CURRENT_SCREEN,
    response_ref: str | None = None,
) -> Resource:
    """The screen: its answers as members, its overall result, the version asked (method)."""
    obs = _observation(c.APP_RED_FLAG_PANEL, None, patient_id, actor, now, key)
    obs["hasMember"] = [{"reference": r} for r in member_refs]
    obs["interpretation"] = [concept(c.INTERPRETATION_POSITIVE if positive else c.INTERPRETATION_NEGATIVE)]
    if version.marker:
        obs["method"] = concept(version.marker)
    if response_ref:
        obs["derivedFrom"] = [{"reference": response_ref}]
    return obs


def build_screen_response(
    outcome: ScreenOutcome, patient_id: str, actor: Actor, now: datetime, key: str
) -> Resource:
    """The screen as a QuestionnaireResponse to the published Questionnaire (same answers).

    `key` is also its write tag: not every server searches QuestionnaireResponse by identifier,
    so a retried transaction creates it conditionally on `_tag` (as Provenance).
    """
    response: Resource = {
        "resourceType": "QuestionnaireResponse",
        "meta": {"tag": [{"system": c.WRITE_TAG, "code": key}]},
        "identifier": submission_identifier(key)[0],
        "questionnaire": f"{c.RED_FLAG_QUESTIONNAIRE}|{outcome.version.version}",
        "status": "completed",
        "subject": ref("Patient", patient_id),
        "authored": fhir_instant(now),
        "item": [
            {
                "linkId": q.key,
                "text": q.question,
                "answer": [{"valueBoolean": bool(outcome.answers[q.key])}],
            }
            for q in outcome.version.questions
        ],
    }
    if actor.reference:
        response["author"] = actor.as_reference()
    return response


def build_pain_score(
    score: int, patient_id: str, actor: Actor, now: datetime, key: str, care_plan_id: str | None = None
) -> Resource:
    if not 0 <= score <= 10:
        raise ScoreOutOfRange("The pain score must be between 0 and 10.")
    obs = _observation(c.LOINC_PAIN_0_10, "Pain score (0-10)", patient_id, actor, now, key)
    obs["valueInteger"] = score
    if care_plan_id:
        obs["basedOn"] = [ref("CarePlan", care_plan_id)]
    return obs


def build_oswestry_score(
    percent: int, patient_id: str, actor: Actor, now: datetime, key: str, care_plan_id: str | None = None
) -> Resource:
    """Oswestry Disability Index score, 0-100 %; the code's single-source status is noted."""
    if not 0 <= percent <= 100:
        raise ScoreOutOfRange("The Oswestry score must be between 0 and 100 %.")
    obs = _observation(c.LOINC_ODI_SCORE, None, patient_id, actor, now, key)
    obs["valueQuantity"] = {"value": percent, "unit": "%", "system": c.UCUM, "code": "%"}
    obs["note"] = [{"text": c.ODI_SOURCE_NOTE}]
    if care_plan_id:
        obs["basedOn"] = [ref("CarePlan", care_plan_id)]
    return obs
