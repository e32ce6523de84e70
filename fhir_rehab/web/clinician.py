"""The clinician's pages (EHR launch with a patient): eligibility, screen, start, program."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.ids import check_free_text, is_submission_id
from fhir_rehab.launch.context import LaunchContext, current_launch, fhir_client_for_launch, require_launch
from fhir_rehab.launch.errors import LaunchRequired
from fhir_rehab.program.adherence import weekly_adherence
from fhir_rehab.program.progression import check_progression
from fhir_rehab.program.redflags import CURRENT_SCREEN, RED_FLAGS, IncompleteScreen, screen_red_flags
from fhir_rehab.program.review import OUTCOMES, parse_outcome
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.program.triggers import rescreen_needed
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import ProgramRefused, ReviewRefused, StageRefused, StaleVersion
from fhir_rehab.services.record import PatientRecord, read_patient_record
from fhir_rehab.services.review import record_review, resume_program, stop_program
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.actor import actor_for_launch
from fhir_rehab.web.charts import pain_chart_svg
from fhir_rehab.web.pictures import exercise_picture
from fhir_rehab.web.safety import hold_of

bp = Blueprint("clinician", __name__, url_prefix="/patient")
RESOURCE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id
PROGRAM = SCIATICA_PROGRAM
DAMAGED_FORM = "Nothing was saved: the form was damaged or altered. Reload the page and enter it again."


def _submission_id(form: Any) -> str | None:
    """The form's submission id (a new one when absent), or None when it is malformed."""
    value = form.get("submission_id")
    if not value:
        return str(uuid.uuid4())
    return value if is_submission_id(value) else None


@bp.before_request
def refuse_forms_for_another_patient() -> Response | None:
    """A form carries the patient it was shown for. If a launch in another tab switched this
    browser to another patient since, nothing is written for the wrong patient."""
    if request.method != "POST":
        return None
    launch = current_launch()
    if launch is None or request.form.get("patient") == launch.patient_id:
        return None
    flash(
        "This page was opened for another patient; the app has since been launched for a "
        "different patient (in another tab or window). Nothing was saved. Check the patient "
        "below and enter it again.",
        "error",
    )
    return redirect(url_for("clinician.overview"))


def _launch() -> LaunchContext:
    launch = current_launch()
    if launch is None or not launch.patient_id or launch.is_patient_user:
        raise LaunchRequired("This page needs a launch from the EHR with a patient selected.")
    return launch


def _acting() -> tuple[str, FhirClient, Actor]:
    """For a write: the launch patient, a client on the launch, and who is acting."""
    launch = _launch()
    client = fhir_client_for_launch(launch)
    return launch.patient_id or "", client, actor_for_launch(launch, client, for_write=True)


def _record() -> tuple[LaunchContext, Any, PatientRecord]:
    launch = _launch()
    client = fhir_client_for_launch(launch)
    return launch, client, read_patient_record(client, launch.patient_id or "")


def _page(template: str, record: PatientRecord, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            template, patient=record.patient, program=PROGRAM, picture=exercise_picture, **context
        ),
        status,
    )


@bp.get("")
@require_launch
def overview() -> Any:
    _, _, record = _record()
    state = record.state(PROGRAM)
    return _page("clinician/overview.html", record, eligibility=svc.check_eligibility(record), state=state)


@bp.get("/screen")
@require_launch
def screen_form() -> Any:
    _, _, record = _record()
    return _page(
        "clinician/screen.html",
        record,
        screen=CURRENT_SCREEN,
        answers={},
        errors=[],
        submission_id=str(uuid.uuid4()),
    )


def _parse_answers(form: Any) -> dict[str, bool]:
    answers = {}
    for flag in RED_FLAGS:
        value = form.get(flag.key)
        if value in {"present", "absent"}:
            answers[flag.key] = value == "present"
    return answers


@bp.post("/screen")
@require_launch
def screen_submit() -> Any:
    launch, client, record = _record()
    answers = _parse_answers(request.form)
    submission_id = _submission_id(request.form)
    if submission_id is None:
        return _page(
            "clinician/screen.html",
            record,
            status=400,
            screen=CURRENT_SCREEN,
            answers=answers,
            submission_id=str(uuid.uuid4()),
            errors=[DAMAGED_FORM],
        )
    try:
        screen_red_flags(answers)
    except IncompleteScreen:
        missing = [f for f in RED_FLAGS if f.key not in answers]
        return _page(
            "clinician/screen.html",
            record,
            status=400,
            screen=CURRENT_SCREEN,
            answers=answers,
            submission_id=submission_id,
            errors=[f"Answer: {f.question}" for f in missing],
        )
    result = svc.record_screen(
        client,
        PROGRAM,
        launch.patient_id or "",
        answers,
        actor_for_launch(launch, client, for_write=True),
        submission_id,
    )
    if result.repeated:
        flash("This screen was already recorded.", "info")
    if result.outcome.positive:
        return _page("clinician/screen_positive.html", record, outcome=result.outcome)
    flash("Red-flag screen recorded: no red flags present.", "info")
    return redirect(url_for("clinician.overview"))


@bp.post("/start")
@require_launch
def start() -> Response:
    patient, client, actor = _acting()
    try:
        result = svc.start_program(
            client, PROGRAM, patient, actor, max_screen_age_days=current_app.config["SCREEN_MAX_AGE_DAYS"]
        )
    except ProgramRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("clinician.overview"))
    flash(
        "The program was already running."
        if result.already_started
        else "Program started: stage 1 is ready.",
        "info",
    )
    return redirect(url_for("clinician.program"))


@bp.get("/program")
@require_launch
def program() -> Any:
    _, _, record = _record()
    state = record.state(PROGRAM)
    if not state.started:
        flash("No program yet for this patient.", "info")
        return redirect(url_for("clinician.overview"))
    current = state.current
    check = (
        check_progression(current.stage, state.pain, current.active_since, utcnow(), state.oswestry)
        if current
        else None
    )
    since = min((s.active_since for s in state.stages if s.active_since), default=None)
    adherence = weekly_adherence(record.sessions(), current.stage, utcnow(), since=since) if current else []
    return _page(
        "clinician/program.html",
        record,
        state=state,
        hold=hold_of(state),
        rescreen=rescreen_needed(state),
        progress_reviews=[r for r in state.reviews if not r.red_flag and r.is_open],
        current=current,
        check=check,
        adherence=adherence,
        chart=pain_chart_svg(state.pain),
        submission_id=str(uuid.uuid4()),
        odi_submission_id=str(uuid.uuid4()),
    )


# What each score form records: the service, its name, its top value and unit.
SCORES: dict[str, tuple[Callable[..., Any], str, int, str]] = {
    "pain": (svc.record_pain, "Pain", 10, "/10"),
    "oswestry": (svc.record_oswestry, "Oswestry Disability Index", 100, "%"),
}


@bp.post("/score/<kind>")
@require_launch
def record_score(kind: str) -> Response:
    if kind not in SCORES:
        abort(404)
    record_fn, name, top, unit = SCORES[kind]
    try:
        score = int(request.form.get("score", ""))
        if not 0 <= score <= top:
            raise ValueError
    except ValueError:
        flash(f"{name} must be a whole number from 0 to {top}.", "error")
        return redirect(url_for("clinician.program"))
    submission_id = _submission_id(request.form)
    if submission_id is None:
        flash(DAMAGED_FORM, "error")
        return redirect(url_for("clinician.program"))
    launch, client, record = _record()
    state = record.state(PROGRAM)
    result = record_fn(
        client,
        launch.patient_id or "",
        score,
        actor_for_launch(launch, client, for_write=True),
        submission_id,
        state.careplan_id,
        state=state,
    )
    flash(f"{name} {score}{unit} recorded." if result.created else "That score was already recorded.", "info")
    if any(ref.startswith("Task/") for ref in result.created):
        flash(
            "This score asks for a follow-up, now on the care team's worklist: see the notice on "
            "the program page.",
            "info",
        )
    return redirect(url_for("clinician.program"))


@bp.post("/stage/complete")
@require_launch
def complete_stage() -> Response:
    patient, client, actor = _acting()
    try:
        result = svc.complete_stage(
            client,
            PROGRAM,
            patient,
            request.form.get("task_id", ""),
            actor,
            expected_version=request.form.get("version") or None,
            early_reason=request.form.get("early_reason") if request.form.get("early") == "yes" else None,
            max_screen_age_days=current_app.config["STAGE_SCREEN_MAX_AGE_DAYS"],
        )
    except StaleVersion:
        flash(
            "Someone else changed this stage since you opened the page. This is its current "
            "state; nothing you entered was lost.",
            "error",
        )
        return redirect(url_for("clinician.program"))
    except StageRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("clinician.program"))
    message = "Stage completed." + (
        " The next stage is ready." if result.next_task else " The program is complete."
    )
    if result.check.unmet:
        message += " It was recorded as completed early, with your reason and the criteria not met."
    flash(message, "info")
    return redirect(url_for("clinician.program"))


def _change_program(change: Callable[[], object], done: str) -> Response:
    """Run a program-level change and say how it went on the program page."""
    try:
        change()
    except ProgramRefused as exc:
        flash(str(exc), "error")
    except StaleVersion:
        flash("Someone else changed the program since you opened the page; here it is now.", "error")
    else:
        flash(done, "info")
    return redirect(url_for("clinician.program"))


@bp.post("/program/resume")
@require_launch
def resume() -> Response:
    patient, client, actor = _acting()
    return _change_program(
        lambda: resume_program(
            client, PROGRAM, patient, actor, max_screen_age_days=current_app.config["SCREEN_MAX_AGE_DAYS"]
        ),
        "The program is running again.",
    )


@bp.post("/program/stop")
@require_launch
def stop() -> Response:
    try:
        reason = check_free_text(request.form.get("reason", ""), what="The reason")
    except ValueError as exc:
        flash(f"Not stopped: {exc}", "error")
        return redirect(url_for("clinician.program"))
    patient, client, actor = _acting()
    return _change_program(
        lambda: stop_program(client, PROGRAM, patient, actor, reason), "The program was stopped."
    )


@bp.get("/program/sheet")
@require_launch
def sheet() -> Any:
    _, _, record = _record()
    state = record.state(PROGRAM)
    hold = hold_of(state)
    if hold is not None:
        # On hold for a red flag: no printable sheet, the same stop banner (409 Conflict).
        return _page("clinician/stopped.html", record, status=409, state=state, hold=hold)
    if state.current is None:
        flash("There is no current stage to print.", "info")
        return redirect(url_for("clinician.overview"))
    return _page("clinician/sheet.html", record, state=state, current=state.current, flags=RED_FLAGS)


# -- the medical review -------------------------------------------------------------------------
MAX_NOTE = 2000


def _open_review(record: PatientRecord, task_id: str) -> Any:
    state = record.state(PROGRAM)
    review = next((r for r in state.reviews if r.task_id == task_id and r.is_open), None)
    if review is None:
        flash("That review is not open for this patient (it may have been recorded already).", "info")
    return state, review


@bp.get("/review/<task_id>")
@require_launch
def review_form(task_id: str) -> Any:
    if not RESOURCE_ID.match(task_id):
        abort(404)
    launch, _, record = _record()
    state, review = _open_review(record, task_id)
    if review is None:
        return redirect(url_for("clinician.overview"))
    return _page(
        "clinician/review.html",
        record,
        state=state,
        review=review,
        outcomes=OUTCOMES,
        chosen=None,
        note="",
        errors=[],
        can_review=(launch.fhir_user or "").startswith("Practitioner/"),
    )


@bp.post("/review/<task_id>")
@require_launch
def review_submit(task_id: str) -> Any:
    if not RESOURCE_ID.match(task_id):
        abort(404)
    launch, client, record = _record()
    state, review = _open_review(record, task_id)
    if review is None:
        return redirect(url_for("clinician.overview"))
    outcome = parse_outcome(request.form.get("outcome"))
    note = (request.form.get("note") or "").strip()
    errors = []
    if outcome is None:
        errors.append("Choose the outcome of your review.")
    if not note:
        errors.append("Write a note: what you found and what you advised.")
    elif len(note) > MAX_NOTE:
        errors.append(f"Keep the note under {MAX_NOTE} characters (it has {len(note)}).")
    can_review = (launch.fhir_user or "").startswith("Practitioner/")
    if outcome is not None and not errors:
        try:
            record_review(
                client,
                PROGRAM,
                launch.patient_id or "",
                task_id,
                outcome,
                note,
                actor_for_launch(launch, client),
                expected_version=request.form.get("version") or None,
            )
        except ReviewRefused as exc:
            errors.append(str(exc))
        except StaleVersion:
            errors.append(
                "Someone changed this review since you opened it. Here it is now; your outcome "
                "and note are kept below: check them and record again."
            )
            record = read_patient_record(client, launch.patient_id or "")
            state, review = _open_review(record, task_id)
            if review is None:
                return redirect(url_for("clinician.overview"))
        else:
            rule = OUTCOMES[outcome]
            flash(f"Review recorded: {rule.label}. {rule.effect}", "info")
            return redirect(url_for("clinician.program" if state.started else "clinician.overview"))
    return _page(
        "clinician/review.html",
        record,
        status=400 if not can_review or outcome is None or not note else 409,
        state=state,
        review=review,
        outcomes=OUTCOMES,
        chosen=outcome,
        note=note,
        errors=errors,
        can_review=can_review,
    )
