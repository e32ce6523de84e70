"""Parsers: rebuild Conditions and a patient's whole program state from what the server returns."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.program.eligibility import CodingFact, ConditionFact
from fhir_rehab.program.lifecycle import ACTIONABLE_STATUSES
from fhir_rehab.program.model import Exercise, Program, Stage
from fhir_rehab.program.progression import FollowUp, ProgramState, Score, ScreenSummary, StageState
from fhir_rehab.program.redflags import SCREEN_V1, SCREEN_VERSIONS, ScreenVersion
from fhir_rehab.program.review import ReviewState, outcome_for_code
from fhir_rehab.program.tailoring import Prescribed
from fhir_rehab.resources.assessment import parse_assessments
from fhir_rehab.resources.definitions import exercise_definition_url, stage_definition_url
from fhir_rehab.resources.prescriptions import parse_prescription, task_prescription_refs
from fhir_rehab.resources.wire import (
    Resource,
    check_shape,
    codes_of,
    identifier_value,
    parse_instant,
    ref_id,
)

# Version 1 answers: Observation.code is the finding, value SNOMED Present/Absent.
_V1_BY_CODE = {(f.code.system, f.code.code): f.key for f in SCREEN_V1.questions}
_PRESENT = (c.SCT_PRESENT.system, c.SCT_PRESENT.code)
_ABSENT = (c.SCT_ABSENT.system, c.SCT_ABSENT.code)
_POS = (c.INTERPRETATION_POSITIVE.system, c.INTERPRETATION_POSITIVE.code)
_NEG = (c.INTERPRETATION_NEGATIVE.system, c.INTERPRETATION_NEGATIVE.code)
_PANEL = (c.APP_RED_FLAG_PANEL.system, c.APP_RED_FLAG_PANEL.code)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# The R4 shape of every Condition element eligibility reads (JSON types as R4 defines them).
_CONCEPT = {"coding": [{"system": str, "code": str, "display": str}], "text": str}
CONDITION_SHAPE = {
    "resourceType": str,
    "id": str,
    "code": _CONCEPT,
    "clinicalStatus": _CONCEPT,
    "verificationStatus": _CONCEPT,
    "recordedDate": str,
    "onsetDateTime": str,
}


def _status_code(concept_value: dict[str, Any] | None) -> str | None:
    for coding in (concept_value or {}).get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return None


def parse_condition(resource: Resource) -> ConditionFact:
    check_shape(resource, CONDITION_SHAPE)  # reject what eligibility would misread
    code = resource.get("code") or {}
    return ConditionFact(
        id=resource.get("id", ""),
        codings=tuple(
            CodingFact(cd.get("system", ""), cd.get("code", ""), cd.get("display", ""))
            for cd in code.get("coding") or []
        ),
        clinical_status=_status_code(resource.get("clinicalStatus")),
        verification_status=_status_code(resource.get("verificationStatus")),
        text=code.get("text", ""),
        recorded=resource.get("recordedDate") or resource.get("onsetDateTime") or "",
    )


def parse_conditions(resources: Iterable[Resource]) -> list[ConditionFact]:
    return [parse_condition(r) for r in resources if r.get("resourceType") == "Condition"]


def _by_type(resources: Iterable[Resource], resource_type: str) -> list[Resource]:
    return [r for r in resources if r.get("resourceType") == resource_type]


def _stage_for(program: Program, canonical: str | None) -> Stage | None:
    url = (canonical or "").split("|")[0]
    for stage in program.stages:
        if stage_definition_url(stage) == url:
            return stage
    return None


def _prescriptions(task: Resource, requests: dict[str, Prescribed]) -> tuple[Prescribed, ...]:
    return tuple(requests[r] for r in task_prescription_refs(task) if r in requests)


def _exercises(program: Program, task: Resource) -> tuple[Exercise, ...]:
    by_url = {exercise_definition_url(e): e for s in program.stages for e in s.exercises}
    found = []
    for item in task.get("input") or []:
        exercise = by_url.get(str(item.get("valueCanonical", "")).split("|")[0])
        if exercise:
            found.append(exercise)
    return tuple(found)


def parse_stage_task(
    program: Program, task: Resource, requests: dict[str, Prescribed] | None = None
) -> StageState | None:
    """A stage Task; `requests` are the program's parsed ServiceRequests by `ServiceRequest/id`."""
    stage = _stage_for(program, task.get("instantiatesCanonical"))
    if stage is None:
        return None
    prescribed = _prescriptions(task, requests or {})
    period = task.get("executionPeriod") or {}
    planned = (task.get("restriction") or {}).get("period") or {}
    return StageState(
        stage=stage,
        task_id=task["id"],
        status=task["status"],
        version=(task.get("meta") or {}).get("versionId"),
        business_status=_status_code(task.get("businessStatus")),
        started=parse_instant(period.get("start")),
        ended=parse_instant(period.get("end")),
        planned_start=planned.get("start"),
        planned_end=planned.get("end"),
        owner=(task.get("owner") or {}).get("reference"),
        status_reason=(task.get("statusReason") or {}).get("text"),
        exercises=tuple(p.as_exercise for p in prescribed) if prescribed else _exercises(program, task),
        prescriptions=prescribed,
        # A ready Task's lastModified is when it became ready (the app sets it on each change).
        ready_since=parse_instant(task.get("lastModified")) if task["status"] == "ready" else None,
    )


def _program_plans(program: Program, plans: list[Resource]) -> list[Resource]:
    return [
        p
        for p in plans
        if identifier_value(p, c.EPISODE_IDENTIFIER)
        and any(str(x).split("|")[0] == program.url for x in p.get("instantiatesCanonical") or [])
    ]


def _pick_care_plan(ours: list[Resource]) -> Resource | None:
    live = [p for p in ours if p.get("status") in {"active", "on-hold", "draft"}]
    pool = live or ours
    return max(pool, key=lambda p: p.get("created", "")) if pool else None


def red_flag_panels(resources: Iterable[Resource]) -> list[Resource]:
    """Red-flag panels, newest first (entered in error ones left out)."""
    panels = [
        o
        for o in _by_type(resources, "Observation")
        if _PANEL in codes_of(o.get("code")) and o.get("status") != "entered-in-error"
    ]
    return sorted(
        panels,
        key=lambda o: (
            parse_instant(o.get("effectiveDateTime")) or _EPOCH,
            (o.get("meta") or {}).get("lastUpdated", ""),
        ),
        reverse=True,
    )


def _panel_version(panel: Resource) -> ScreenVersion | None:
    """The version a panel was asked with: its method marker; no method is version 1."""
    method = codes_of(panel.get("method"))
    if not method:
        return SCREEN_V1
    for version in SCREEN_VERSIONS:
        if version.marker and (version.marker.system, version.marker.code) in method:
            return version
    return None


def _marked_positive(panel: Resource) -> bool | None:
    codes = {code for i in panel.get("interpretation") or [] for code in codes_of(i)}
    if _POS in codes:
        return True
    return False if _NEG in codes else None


def _answer(version: ScreenVersion, obs: Resource) -> tuple[str, bool] | None:
    """(key, present) of one member, or None when it cannot be read as an answer of `version`."""
    codes = codes_of(obs.get("code"))
    if version is SCREEN_V1:
        key = next((_V1_BY_CODE[code] for code in codes if code in _V1_BY_CODE), None)
        coded = codes_of(obs.get("valueCodeableConcept"))
        if key is None or (_PRESENT in coded) == (_ABSENT in coded):
            return None
        return key, _PRESENT in coded
    asked = {(q.question_code.system, q.question_code.code): q.key for q in version.questions}
    key = next((asked[code] for code in codes if code in asked), None)
    value = obs.get("valueBoolean")
    if key is None or not isinstance(value, bool):
        return None
    return key, value


def parse_screen_panel(panel: Resource, resources: Iterable[Resource]) -> ScreenSummary:
    """One panel and the answers of its members, read fail-closed.

    A member that is missing from `resources` (a server that ignores `_include`) or cannot be
    read leaves the screen incomplete; a panel marked positive is positive whatever its members
    say; an answer recorded twice with different values counts as present.
    """
    version = _panel_version(panel)
    by_id = {o.get("id"): o for o in _by_type(resources, "Observation")}
    answers: dict[str, bool] = {}
    unreadable: list[str] = []
    for member in panel.get("hasMember") or []:
        obs = by_id.get(ref_id(member, "Observation"))
        if obs is None or version is None:
            continue  # counted as a missing answer
        if obs.get("status") in {"entered-in-error", "cancelled"}:
            continue
        found = _answer(version, obs)
        if found is None:
            unreadable.append("an answer could not be read")
            continue
        key, present = found
        answers[key] = answers.get(key, False) or present
    return ScreenSummary(
        panel.get("id", ""),
        parse_instant(panel.get("effectiveDateTime")),
        answers,
        version=version,
        marked_positive=_marked_positive(panel),
        unreadable=tuple(dict.fromkeys(unreadable)),
    )


def parse_screen(resources: list[Resource]) -> ScreenSummary | None:
    """The latest red-flag screen, read fail-closed (see parse_screen_panel)."""
    panels = red_flag_panels(resources)
    return parse_screen_panel(panels[0], resources) if panels else None


def parse_pain(resources: list[Resource]) -> tuple[Score, ...]:
    return parse_scores(resources, c.LOINC_PAIN_0_10)


def parse_scores(resources: list[Resource], code: c.Code) -> tuple[Score, ...]:
    """Every final score Observation with this code, oldest first."""
    scores = []
    for obs in _by_type(resources, "Observation"):
        if (code.system, code.code) not in codes_of(obs.get("code")):
            continue
        value = obs.get("valueInteger", (obs.get("valueQuantity") or {}).get("value"))
        when = parse_instant(obs.get("effectiveDateTime"))
        if value is not None and when is not None and obs.get("status") != "entered-in-error":
            by_patient = any(
                str((p or {}).get("reference", "")).startswith("Patient/") for p in obs.get("performer") or []
            )
            scores.append(Score(int(value), when, obs.get("id", ""), by_patient))
    return tuple(sorted(scores, key=lambda p: p.when))


def is_follow_up_task(task: Resource) -> bool:
    """A follow-up for the care team (any reason), new or written before the kinds were one."""
    return follow_up_code(task) is not None


def _plan_requests(program: Program, plan_id: str, resources: list[Resource]) -> dict[str, Prescribed]:
    out = {}
    for request in _by_type(resources, "ServiceRequest"):
        if any(ref_id(b, "CarePlan") == plan_id for b in request.get("basedOn") or []):
            parsed = parse_prescription(program, request)
            if parsed is not None:
                out[f"ServiceRequest/{request['id']}"] = parsed
    return out


def is_review_task(task: Resource) -> bool:
    """A red-flag medical review Task."""
    return (c.APP_MEDICAL_REVIEW.system, c.APP_MEDICAL_REVIEW.code) in codes_of(task.get("code"))


# Why a follow-up was raised (Task.reasonCode): repeat the screen, a progress review; without
# one of these it is the care team's call back about the home program (APP_FOLLOW_UP).
FOLLOW_UP_REASONS = {
    (c.APP_RESCREEN.system, c.APP_RESCREEN.code),
    (c.APP_PROGRESS_REVIEW.system, c.APP_PROGRESS_REVIEW.code),
}
_FOLLOW_UP = (c.APP_FOLLOW_UP.system, c.APP_FOLLOW_UP.code)


def follow_up_code(task: Resource) -> str | None:
    """What a follow-up Task is for (APP_RESCREEN, APP_PROGRESS_REVIEW or APP_FOLLOW_UP's
    code), or None when it is no follow-up. Every follow-up has the code APP_FOLLOW_UP and its
    reason in reasonCode; Tasks written before the two kinds became one carry the reason as
    their code (retired as a Task code, still read).

    >>> follow_up_code({"code": {"coding": [c.APP_FOLLOW_UP.as_coding()]},
    ...                 "reasonCode": {"coding": [c.APP_RESCREEN.as_coding()]}})
    'repeat-red-flag-screen'
    >>> follow_up_code({"code": {"coding": [c.APP_PROGRESS_REVIEW.as_coding()]}})
    'progress-review'
    >>> follow_up_code({"code": {"coding": [c.APP_FOLLOW_UP.as_coding()]}, "reasonCode": {"text": "x"}})
    'home-program-follow-up'
    """
    codes = codes_of(task.get("code"))
    if _FOLLOW_UP in codes:
        reasons = [
            code for system, code in codes_of(task.get("reasonCode")) if (system, code) in FOLLOW_UP_REASONS
        ]
        return reasons[0] if reasons else c.APP_FOLLOW_UP.code
    return next((code for system, code in codes if (system, code) in FOLLOW_UP_REASONS), None)


def _findings(description: str) -> str:
    """The red flags a review Task is about, from its description ("Red flags present: a; b.
    Level: advice...").

    >>> _findings("Red flags present: Saddle anaesthesia; Symptoms in both legs. Emergency: ...")
    'Saddle anaesthesia; Symptoms in both legs'
    """
    head = description.split(". ", 1)[0]
    return head.split(": ", 1)[-1].strip() or "red flags"


def _person(reference: dict[str, Any]) -> str | None:
    """A Reference's name for people: its display, never an id (None when nobody).

    >>> _person({"reference": "Practitioner/1", "display": "Practitioner/1"})
    'a practitioner'
    >>> _person({"display": "Dr Lee"}), _person({})
    ('Dr Lee', None)
    """
    display = str(reference.get("display") or "")
    if display and not re.fullmatch(r"[A-Za-z]+/[A-Za-z0-9\-.]+", display):
        return display
    target = str(reference.get("reference") or display)
    if not target:
        return None
    return "a practitioner" if target.startswith("Practitioner/") else "another user"


def parse_review_task(task: Resource) -> ReviewState:
    owner = task.get("owner") or {}
    restriction = (task.get("restriction") or {}).get("period") or {}
    outcome = next((outcome_for_code(*code) for code in codes_of(task.get("businessStatus"))), None)
    return ReviewState(
        task_id=task.get("id", ""),
        status=str(task.get("status", "")),
        priority=task.get("priority"),
        findings=_findings(str(task.get("description") or "")),
        owner_name=_person(owner),
        owner=owner.get("reference"),
        authored=parse_instant(task.get("authoredOn")),
        due=parse_instant(restriction.get("end")),
        version=(task.get("meta") or {}).get("versionId"),
        outcome=outcome,
        reviewer=_person(owner) if outcome else None,
        by_patient=str((task.get("requester") or {}).get("reference", "")).startswith("Patient/"),
    )


def parse_program_state(program: Program, patient_id: str, resources: list[Resource]) -> ProgramState:
    """Rebuild the whole program from resources read back (any order, duplicates allowed)."""
    tasks = _by_type(resources, "Task")
    review_states = tuple(parse_review_task(t) for t in tasks if is_review_task(t)) + tuple(
        replace(parse_review_task(t), red_flag=False)
        for t in tasks
        if follow_up_code(t) == c.APP_PROGRESS_REVIEW.code and t.get("status") in ACTIONABLE_STATUSES
    )
    follow_ups = tuple(
        FollowUp(t["id"], code, t["status"], (t.get("meta") or {}).get("versionId"))
        for t in tasks
        if (code := follow_up_code(t)) and t.get("status") in ACTIONABLE_STATUSES
    )
    reviews = tuple(r.task_id for r in review_states if r.status in ACTIONABLE_STATUSES)
    screen, pain = parse_screen(resources), parse_pain(resources)
    oswestry = parse_scores(resources, c.LOINC_ODI_SCORE)
    assessments = parse_assessments(resources)
    ours = _program_plans(program, _by_type(resources, "CarePlan"))
    plan = _pick_care_plan(ours)
    if plan is None:
        return ProgramState(
            program,
            patient_id,
            latest_screen=screen,
            pain=pain,
            oswestry=oswestry,
            assessments=assessments,
            review_task_ids=reviews,
            reviews=review_states,
            follow_ups=follow_ups,
        )
    requests = _plan_requests(program, plan["id"], resources)
    stages = {}
    for task in tasks:
        if any(ref_id(b, "CarePlan") == plan["id"] for b in task.get("basedOn") or []):
            state = parse_stage_task(program, task, requests)
            if state:
                stages[state.stage.number] = state
    return ProgramState(
        program,
        patient_id,
        careplan_id=plan["id"],
        careplan_status=plan.get("status"),
        careplan_version=(plan.get("meta") or {}).get("versionId"),
        condition_id=next((ref_id(a, "Condition") for a in plan.get("addresses") or []), None),
        stages=tuple(stages[n] for n in sorted(stages)),
        goal_ids=tuple(filter(None, (ref_id(g, "Goal") for g in plan.get("goal") or []))),
        latest_screen=screen,
        pain=pain,
        oswestry=oswestry,
        assessments=assessments,
        review_task_ids=reviews,
        reviews=review_states,
        follow_ups=follow_ups,
        episodes=len(ours),
    )
