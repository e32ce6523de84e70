"""The clinician's assessment page and the tailored-plan page (routes on the clinician blueprint)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from flask import current_app, flash, redirect, request, url_for

from fhir_rehab.launch.context import require_launch
from fhir_rehab.program.assessment import ODI_SECTION_NAMES, REFLEXES
from fhir_rehab.program.model import LEVELS, PRECAUTION_LABELS, Precaution
from fhir_rehab.program.progression import ProgramState
from fhir_rehab.program.tailoring import Prescribed, Profile, unconfirmed
from fhir_rehab.resources.queries import CLINICIAN_VIEW
from fhir_rehab.services import program as svc
from fhir_rehab.services.assessment import record_assessment
from fhir_rehab.services.errors import ProgramRefused, StaleVersion
from fhir_rehab.services.tailoring import EDITABLE_STAGES, propose_plan, update_plan
from fhir_rehab.web.actor import actor_for_launch
from fhir_rehab.web.clinician_base import (
    DAMAGED_FORM,
    PROGRAM,
    _after_write,
    _known,
    _page,
    _record,
    _submission_id,
    bp,
)
from fhir_rehab.web.forms import StagePlan, parse_assessment, parse_stage, rows_for

DIRECTION_WORDS = {"flexion": "bends forwards", "extension": "bends backwards", "neutral": "no bend"}


@bp.get("/assessment")
@require_launch
def assessment_form() -> Any:
    _, _, record = _record()
    return _assessment_page(record, {}, [], 200)


def _assessment_page(record: Any, form: Any, errors: list[tuple[str, str]], status: int) -> Any:
    return _page(
        "clinician/assessment.html",
        record,
        status=status,
        state=record.state(PROGRAM),
        form=form,
        errors=errors,
        odi_sections=ODI_SECTION_NAMES,
        reflexes=REFLEXES,
        precautions=[(p.value, PRECAUTION_LABELS[p]) for p in Precaution],
        submission_id=form.get("submission_id") or str(uuid.uuid4()),
    )


@bp.post("/assessment")
@require_launch
def assessment_submit() -> Any:
    submission = _submission_id(request.form)
    if submission is None:
        flash(DAMAGED_FORM, "error")
        return redirect(url_for("clinician.assessment_form"))
    launch, client, record = _known()
    assessment, errors = parse_assessment(request.form)
    if assessment is None:
        return _assessment_page(record, request.form, errors, 400)
    result = record_assessment(
        client,
        launch.patient_id or "",
        assessment,
        actor_for_launch(launch, client, for_write=True),
        submission,
        read_after=CLINICIAN_VIEW,
    )
    _after_write(launch, result.after, record)
    flash("Assessment recorded." if result.created else "This assessment was already recorded.", "info")
    started = result.after.state(PROGRAM).careplan_status in {"active", "on-hold"}
    return redirect(url_for("clinician.program" if started else "clinician.plan"))


def _current_plans(state: ProgramState) -> list[StagePlan]:
    profile = Profile.of(state.latest_assessment)
    if not state.started or state.careplan_status not in {"active", "on-hold"}:
        proposals = propose_plan(PROGRAM, state)
        out = []
        for number, proposal in proposals.items():
            plan = rows_for(number, list(proposal.items), profile)
            plan.notices = list(proposal.changes)
            out.append(plan)
        return out
    out = []
    for stage in state.stages:
        items = list(stage.prescriptions) or [Prescribed(e, e.dosage) for e in stage.exercises]
        plan = rows_for(stage.stage.number, items, profile)
        plan.seen_version = stage.version
        plan.editable = stage.status in EDITABLE_STAGES
        out.append(plan)
    return out


def _plan_page(
    record: Any, state: ProgramState, plans: list[StagePlan], errors: list[tuple[str, str]], status: int = 200
) -> Any:
    running = state.careplan_status in {"active", "on-hold"}
    return _page(
        "clinician/plan.html",
        record,
        status=status,
        state=state,
        plans=plans,
        running=running,
        errors=errors,
        levels=LEVELS,
        directions=DIRECTION_WORDS,
        submission_id=request.form.get("submission_id") or str(uuid.uuid4()),
    )


@bp.get("/plan")
@require_launch
def plan() -> Any:
    _, _, record = _record()
    state = record.state(PROGRAM)
    return _plan_page(record, state, _current_plans(state), [])


@bp.post("/plan")
@require_launch
def plan_submit() -> Any:
    submission = _submission_id(request.form)
    if submission is None:
        flash(DAMAGED_FORM, "error")
        return redirect(url_for("clinician.plan"))
    launch, client, record = _known()
    state = record.state(PROGRAM)
    running = state.careplan_status in {"active", "on-hold"}
    profile = Profile.of(state.latest_assessment)
    editable = {s.stage.number for s in state.stages if s.status in EDITABLE_STAGES} if running else None
    plans: list[StagePlan] = []
    errors: list[tuple[str, str]] = []
    current = {p.number: p for p in _current_plans(state)}
    for stage in PROGRAM.stages:
        if editable is not None and stage.number not in editable:
            plans.append(current[stage.number])
            continue
        parsed, stage_errors = parse_stage(request.form, PROGRAM, stage.number, profile)
        plans.append(parsed)
        errors += stage_errors
    action = request.form.get("action", "check")
    pending = [
        (f"s{p.number}-{row.index}-confirm", f"Stage {p.number}: confirm or change: {' '.join(words)}")
        for p in plans
        if p.editable
        for row in p.rows
        for item, words in unconfirmed([row.item], profile)
    ]
    if errors or action == "check" or pending:
        if action != "check" and pending and not errors:
            errors = pending
        return _plan_page(record, state, plans, errors, 400 if errors else 200)
    chosen = {p.number: p.items for p in plans if p.editable}
    actor = actor_for_launch(launch, client, for_write=True)
    try:
        if running:
            seen = {p.number: p.seen_version for p in plans if p.editable}
            saved = update_plan(
                client,
                PROGRAM,
                launch.patient_id or "",
                chosen,
                actor,
                submission,
                seen=seen,
                record=record,
                read_after=CLINICIAN_VIEW,
            )
            _after_write(launch, saved.after, record)
            flash("The plan was saved.", "info")
        else:
            result = svc.start_program(
                client,
                PROGRAM,
                launch.patient_id or "",
                actor,
                max_screen_age_days=current_app.config["SCREEN_MAX_AGE_DAYS"],
                plan=chosen,
                record=record,
                read_after=CLINICIAN_VIEW,
            )
            _after_write(launch, result.write.after, record)
            flash(
                "The program was already running."
                if result.already_started
                else "Program started: stage 1 is ready.",
                "info",
            )
    except ProgramRefused as exc:
        _after_write(launch, None)
        return _plan_page(record, state, plans, [("plan", str(exc))], 400)
    except StaleVersion:
        _after_write(launch, None)  # the plan as it is now is read afresh
        return _stale_plan_page(plans)
    return redirect(url_for("clinician.program"))


STALE_PLAN = (
    "Someone else changed this plan since you opened the page (or the form was sent twice), so "
    "nothing was saved. This is the plan as it is now, with your entries kept where the stage "
    "can still change: check them and save again."
)


def _stale_plan_page(posted: list[StagePlan]) -> Any:
    """Nothing saved: the plan as it is now (one read), the clinician's entries kept for every
    stage that is still open, each row on the versions now current; a stage finished since
    shows as it is, saying its changes were not saved."""
    _, _, record = _record()
    state = record.state(PROGRAM)
    now = {p.number: p for p in _current_plans(state)}
    running = state.careplan_status in {"active", "on-hold"}
    plans = [_rebased(p, now[p.number]) if p.editable and running else now[p.number] for p in posted]
    message = STALE_PLAN
    if state.careplan_status == "on-hold":
        message += " The program is now paused for a medical review."
    elif not running:
        message += " The program is no longer running."
    return _plan_page(record, state, plans, [("plan", message)], 409)


def _rebased(posted: StagePlan, current: StagePlan) -> StagePlan:
    """The clinician's rows for a stage on the versions the server has now (its exercises
    matched by id), or the stage as it is now when it can no longer change."""
    if not current.editable:
        current.notices.append(
            f"Stage {current.number} was finished since you opened the page: your changes to it "
            "were not saved."
        )
        return current
    versions = {row.item.request_id: row.item.version for row in current.rows if row.item.request_id}
    for row in posted.rows:
        if row.item.request_id:
            row.item = replace(row.item, version=versions.get(row.item.request_id))
    posted.seen_version = current.seen_version
    return posted
