"""Parsers: rebuild Conditions and a patient's whole program state from what the server returns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.program.eligibility import CodingFact, ConditionFact
from fhir_rehab.program.lifecycle import ACTIONABLE_STATUSES
from fhir_rehab.program.model import Exercise, Program, Stage
from fhir_rehab.program.progression import ProgramState, Score, ScreenSummary, StageState
from fhir_rehab.program.redflags import RED_FLAGS
from fhir_rehab.program.tailoring import Prescribed
from fhir_rehab.resources.assessment import parse_assessments
from fhir_rehab.resources.definitions import exercise_definition_url, stage_definition_url
from fhir_rehab.resources.prescriptions import parse_prescription, task_prescription_refs
from fhir_rehab.resources.wire import (
    Resource,
    codes_of,
    identifier_value,
    parse_instant,
    parse_model,
    ref_id,
)

_FLAG_BY_CODE = {(f.code.system, f.code.code): f.key for f in RED_FLAGS}
_PRESENT = (c.SCT_PRESENT.system, c.SCT_PRESENT.code)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _status_code(concept_value: dict[str, Any] | None) -> str | None:
    for coding in (concept_value or {}).get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return None


def parse_condition(resource: Resource) -> ConditionFact:
    parse_model(resource)  # reject what the R4 model cannot read
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


def parse_screen(resources: list[Resource]) -> ScreenSummary | None:
    """The latest red-flag panel and its members' answers."""
    observations = _by_type(resources, "Observation")
    panels = [
        o
        for o in observations
        if (c.APP_RED_FLAG_PANEL.system, c.APP_RED_FLAG_PANEL.code) in codes_of(o.get("code"))
    ]
    if not panels:
        return None
    panel = max(
        panels,
        key=lambda o: (
            parse_instant(o.get("effectiveDateTime")) or _EPOCH,
            (o.get("meta") or {}).get("lastUpdated", ""),
        ),
    )
    members = {ref_id(m, "Observation") for m in panel.get("hasMember") or []}
    answers: dict[str, bool] = {}
    for obs in observations:
        if obs.get("id") in members:
            for key in (_FLAG_BY_CODE.get(code) for code in codes_of(obs.get("code"))):
                if key:
                    answers[key] = _PRESENT in codes_of(obs.get("valueCodeableConcept"))
    return ScreenSummary(panel["id"], parse_instant(panel.get("effectiveDateTime")), answers)


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
    return (c.APP_FOLLOW_UP.system, c.APP_FOLLOW_UP.code) in codes_of(task.get("code"))


def _plan_requests(program: Program, plan_id: str, resources: list[Resource]) -> dict[str, Prescribed]:
    out = {}
    for request in _by_type(resources, "ServiceRequest"):
        if any(ref_id(b, "CarePlan") == plan_id for b in request.get("basedOn") or []):
            parsed = parse_prescription(program, request)
            if parsed is not None:
                out[f"ServiceRequest/{request['id']}"] = parsed
    return out


def is_review_task(task: Resource) -> bool:
    return (c.APP_MEDICAL_REVIEW.system, c.APP_MEDICAL_REVIEW.code) in codes_of(task.get("code"))


def parse_program_state(program: Program, patient_id: str, resources: list[Resource]) -> ProgramState:
    """Rebuild the whole program from resources read back (any order, duplicates allowed)."""
    tasks = _by_type(resources, "Task")
    reviews = tuple(t["id"] for t in tasks if is_review_task(t) and t.get("status") in ACTIONABLE_STATUSES)
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
        episodes=len(ours),
    )
