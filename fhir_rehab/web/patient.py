"""The patient's own pages (their standalone launch from a patient portal), designed at 390 px.

Today's exercises with pictures and dose, "done" per exercise or for the whole session, pain now
in one tap, the weekly Oswestry by section, the red-flag self-check, the history and an .ics
calendar. Every write runs on the patient's token and adds the patient's own reports only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.backend import BackendServiceFailed
from fhir_rehab.launch.context import (
    LaunchContext,
    backend_client_for_launch,
    backend_client_id,
    current_launch,
    fhir_client_for_launch,
    require_launch,
)
from fhir_rehab.launch.errors import DiscoveryFailed, InsecureServer, LaunchRequired
from fhir_rehab.program.adherence import weekly_adherence
from fhir_rehab.program.model import Exercise
from fhir_rehab.program.oswestry import SECTIONS, IncompleteOswestry, oswestry_index
from fhir_rehab.program.redflags import RED_FLAGS, IncompleteScreen, escalation_for, screen_red_flags
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.program.selfcheck import NEXT_STEPS, patient_advice
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.worklist import patient_name
from fhir_rehab.services import home
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import ProgramRefused
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.calendar import sessions_calendar
from fhir_rehab.web.pictures import exercise_picture

log = logging.getLogger(__name__)
bp = Blueprint("patient", __name__, url_prefix="/me")
PROGRAM = SCIATICA_PROGRAM


def _launch() -> LaunchContext:
    launch = current_launch()
    if launch is None or not launch.is_patient_user or not launch.patient_id:
        raise LaunchRequired("Open the app from your patient portal (\u201cOpen my exercises\u201d).")
    return launch


@bp.before_request
def refuse_forms_for_another_patient() -> Any:
    """A form carries the patient it was shown for; a launch in another tab writes nothing."""
    if request.method != "POST":
        return None
    launch = current_launch()
    if launch is None or request.form.get("patient") == launch.patient_id:
        return None
    flash("This page was opened for someone else. Nothing was saved.", "error")
    return redirect(url_for("patient.today"))


def _mine() -> tuple[LaunchContext, FhirClient, home.MyProgram, Actor]:
    launch = _launch()
    client = fhir_client_for_launch(launch)
    mine = home.read_my_program(client, PROGRAM, launch.patient_id or "")
    actor = Actor(launch.fhir_user, patient_name(mine.record.patient) or "Patient")
    return launch, client, mine, actor


def picture(exercise: Exercise) -> Markup | None:
    """The exercise's picture (the exercise library's SVG), or None when it has none."""
    try:
        return exercise_picture(exercise.key, exercise.name)
    except KeyError:
        return None


def _page(template: str, mine: home.MyProgram, actor: Actor, status: int = 200, **context: Any) -> Any:
    return (
        render_template(
            f"patient/{template}",
            me=actor,
            patient=mine.record.patient,
            state=mine.state,
            program=PROGRAM,
            **context,
        ),
        status,
    )


@bp.get("")
@require_launch
def today() -> Any:
    _, _, mine, actor = _mine()
    current = mine.state.current
    now = utcnow()
    done_today = [s for s in mine.sessions if s.when.date() == now.date()]
    week = weekly_adherence(mine.sessions, current.stage, now, weeks=1)[-1] if current else None
    return _page(
        "today.html",
        mine,
        actor,
        current=current,
        exercises=(current.exercises or current.stage.exercises) if current else (),
        picture=picture,
        done_today=done_today,
        week=week,
        submission_id=str(uuid.uuid4()),
        pain_submission_id=str(uuid.uuid4()),
    )


@bp.post("/session")
@require_launch
def log_session() -> Any:
    launch, client, mine, actor = _mine()
    current = mine.state.current
    if request.form.get("all") == "1" and current is not None:
        keys = [e.key for e in current.exercises or current.stage.exercises]
    else:
        keys = request.form.getlist("exercise")
    try:
        result = home.log_session(
            client, PROGRAM, launch.patient_id or "", keys, actor, _submission_id(), utcnow()
        )
    except ProgramRefused as exc:
        flash(exc.user_message, "error")
    else:
        flash("Session saved. Well done." if result.created else "That session was already saved.", "info")
    return redirect(url_for("patient.today"))


@bp.post("/pain")
@require_launch
def pain() -> Any:
    launch, client, mine, actor = _mine()
    try:
        score = int(request.form.get("score", ""))
        if not 0 <= score <= 10:
            raise ValueError
    except ValueError:
        flash("Choose a number from 0 (no pain) to 10 (worst pain imaginable).", "error")
        return redirect(url_for("patient.today"))
    result = svc.record_pain(
        client, launch.patient_id or "", score, actor, _submission_id(), mine.state.careplan_id, utcnow()
    )
    flash(
        f"Pain {score} out of 10 saved." if result.created else "That pain score was already saved.", "info"
    )
    return redirect(url_for("patient.today"))


def _submission_id() -> str:
    """The form's submission id (a UUID): a double tap finds the first write."""
    value = request.form.get("submission_id", "")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid4())


@bp.get("/oswestry")
@require_launch
def oswestry_form() -> Any:
    _, _, mine, actor = _mine()
    return _page(
        "oswestry.html",
        mine,
        actor,
        sections=SECTIONS,
        answers={},
        errors=[],
        submission_id=str(uuid.uuid4()),
    )


@bp.post("/oswestry")
@require_launch
def oswestry_submit() -> Any:
    launch, client, mine, actor = _mine()
    answers: dict[str, int] = {}
    for section in SECTIONS:
        raw = request.form.get(section.key, "")
        if raw.isdigit() and len(raw) == 1:
            answers[section.key] = int(raw)
    try:
        percent = oswestry_index(answers)
    except IncompleteOswestry as exc:
        return _page(
            "oswestry.html",
            mine,
            actor,
            status=400,
            sections=SECTIONS,
            answers=answers,
            errors=[str(exc)],
            submission_id=_submission_id(),
        )
    svc.record_oswestry(
        client, launch.patient_id or "", percent, actor, _submission_id(), mine.state.careplan_id, utcnow()
    )
    flash(f"Saved: your score this week is {percent} out of 100 (lower is better).", "info")
    return redirect(url_for("patient.history"))


@bp.get("/check")
@require_launch
def check_form() -> Any:
    _, _, mine, actor = _mine()
    return _page(
        "check.html",
        mine,
        actor,
        flags=RED_FLAGS,
        answers={},
        errors=[],
        advice=None,
        submission_id=str(uuid.uuid4()),
    )


@bp.post("/check")
@require_launch
def check_submit() -> Any:
    launch, client, mine, actor = _mine()
    answers = {
        f.key: request.form[f.key] == "yes" for f in RED_FLAGS if request.form.get(f.key) in ("yes", "no")
    }
    try:
        screen_red_flags(answers)
    except IncompleteScreen:
        # A "yes" already given gets its advice at once, even before the rest is answered.
        escalation = escalation_for(key for key, present in answers.items() if present)
        level = escalation.level if escalation else None
        return _page(
            "check.html",
            mine,
            actor,
            status=400,
            flags=RED_FLAGS,
            answers=answers,
            advice=patient_advice(level),
            errors=["Answer every question (yes or no) so your care team gets the whole picture."],
            submission_id=_submission_id(),
        )
    now = utcnow()
    result = home.self_check(client, PROGRAM, launch.patient_id or "", answers, actor, _submission_id(), now)
    return _page(
        "check_result.html",
        mine,
        actor,
        outcome=result.outcome,
        advice=patient_advice(result.outcome.urgency),
        next_steps=NEXT_STEPS,
        hold_on_record=_hold_on_record(launch, client, mine, result, actor, now),
    )


def _hold_on_record(
    launch: LaunchContext,
    client: FhirClient,
    mine: home.MyProgram,
    result: svc.ScreenResult,
    actor: Actor,
    now: datetime,
) -> str:
    """Put the program on hold on the EHR record with the app's own backend credential (never
    the patient's token); say plainly when it could not (the app keeps it paused anyway)."""
    if not result.outcome.positive or mine.state.careplan_status != "active":
        return home.HoldOnRecord.NOT_NEEDED
    try:
        system = backend_client_for_launch(launch)
    except (BackendServiceFailed, DiscoveryFailed, InsecureServer) as exc:
        log.warning("self-check hold: backend sign-in failed: %s", type(exc).__name__)
        return home.HoldOnRecord.FAILED
    hold = home.hold_on_record(
        client,
        system,
        PROGRAM,
        launch.patient_id or "",
        result,
        mine.state,
        actor,
        backend_client_id(launch) or "",
        now,
    )
    if hold in (home.HoldOnRecord.NOT_CONFIGURED, home.HoldOnRecord.FAILED):
        log.warning("self-check hold not written to the EHR record: %s", hold)
    return hold


@bp.get("/history")
@require_launch
def history() -> Any:
    _, _, mine, actor = _mine()
    current = mine.state.current
    weeks = weekly_adherence(mine.sessions, current.stage, utcnow(), weeks=6) if current else []
    names = {e.key: e.name for s in PROGRAM.stages for e in s.exercises}
    return _page(
        "history.html",
        mine,
        actor,
        sessions=list(reversed(mine.sessions))[:30],
        names=names,
        weeks=weeks,
        pain=list(reversed(mine.state.pain))[:30],
        oswestry=list(reversed(mine.state.oswestry)),
    )


@bp.get("/calendar.ics")
@require_launch
def calendar() -> Response:
    _, _, mine, _ = _mine()
    current = mine.state.current
    if current is None or mine.state.paused:
        abort(404)
    body = sessions_calendar(current.stage, current.exercises or current.stage.exercises, _today_start())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="my-exercises.ics"'
    return response


def _today_start() -> datetime:
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
