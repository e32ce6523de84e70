"""The clinician's pages (EHR launch with a patient): eligibility, screen, start, program."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from fhir_rehab.fhir.ids import check_free_text
from fhir_rehab.launch.context import require_launch
from fhir_rehab.launch.scopes import PATIENT_LEVELS, grants
from fhir_rehab.program.adherence import weekly_adherence
from fhir_rehab.program.progression import check_progression
from fhir_rehab.program.redflags import CURRENT_SCREEN, RED_FLAGS, IncompleteScreen, screen_red_flags
from fhir_rehab.program.triggers import rescreen_needed
from fhir_rehab.resources.queries import CLINICIAN_VIEW
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import ProgramRefused, StageRefused, StaleVersion
from fhir_rehab.services.handout import file_handout, was_filed
from fhir_rehab.services.review import resume_program, stop_program
from fhir_rehab.services.writes import WriteResult, utcnow
from fhir_rehab.web import plan_views, review_views  # noqa: F401  (routes on the same blueprint)
from fhir_rehab.web.actor import actor_for_launch
from fhir_rehab.web.charts import pain_chart_svg
from fhir_rehab.web.clinic import clinic_for
from fhir_rehab.web.clinician_base import (
    DAMAGED_FORM,
    PROGRAM,
    _after_write,
    _known,
    _page,
    _record,
    _submission_id,
    bp,
    remember_form_patient,
)
from fhir_rehab.web.dates import day
from fhir_rehab.web.handout import handout_context, render_pdf
from fhir_rehab.web.pictures import exercise_picture
from fhir_rehab.web.safety import hold_of


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
    launch, client, record = _known()
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
            errors=[("screen-form", DAMAGED_FORM)],
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
            errors=[
                (f"a-{f.key}", f"Answer question {RED_FLAGS.index(f) + 1}: {f.question}") for f in missing
            ],
        )
    result = svc.record_screen(
        client,
        PROGRAM,
        launch.patient_id or "",
        answers,
        actor_for_launch(launch, client, for_write=True),
        submission_id,
        record=record,
        read_after=CLINICIAN_VIEW,
    )
    if result.repeated:
        flash("This screen was already recorded.", "info")
    if result.outcome.positive:
        _after_write(launch, None, result.write.after or record)  # this is the page after: the next reads
        return _page("clinician/screen_positive.html", result.write.after or record, outcome=result.outcome)
    _after_write(launch, result.write.after, record)
    flash("Red-flag screen recorded: no red flags present.", "info")
    return redirect(url_for("clinician.overview"))


@bp.post("/start")
@require_launch
def start() -> Response:
    launch, client, record = _known()
    try:
        result = svc.start_program(
            client,
            PROGRAM,
            launch.patient_id or "",
            actor_for_launch(launch, client, for_write=True),
            max_screen_age_days=current_app.config["SCREEN_MAX_AGE_DAYS"],
            record=record,
            read_after=CLINICIAN_VIEW,
        )
    except ProgramRefused as exc:
        _after_write(launch, None)
        flash(str(exc), "error")
        return redirect(url_for("clinician.overview"))
    _after_write(launch, result.write.after, record)
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
        check_progression(
            current.stage, state.pain, current.active_since, utcnow(), state.oswestry, state.assessments
        )
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
        chart=pain_chart_svg(state.pain, threshold=current.stage.progression.max_pain if current else None),
        submission_id=str(uuid.uuid4()),
        odi_submission_id=str(uuid.uuid4()),
        stop_reason=session.pop(STOP_REASON_KEY) if STOP_REASON_KEY in session else "",
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
    launch, client, record = _known()
    state = record.state(PROGRAM)
    result = record_fn(
        client,
        launch.patient_id or "",
        score,
        actor_for_launch(launch, client, for_write=True),
        submission_id,
        state.careplan_id,
        state=state,
        read_after=CLINICIAN_VIEW,
    )
    _after_write(launch, result.after, record)
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
    launch, client, record = _known()
    try:
        result = svc.complete_stage(
            client,
            PROGRAM,
            launch.patient_id or "",
            request.form.get("task_id", ""),
            actor_for_launch(launch, client, for_write=True),
            expected_version=request.form.get("version") or None,
            early_reason=request.form.get("early_reason") if request.form.get("early") == "yes" else None,
            max_screen_age_days=current_app.config["STAGE_SCREEN_MAX_AGE_DAYS"],
            record=record,
            read_after=CLINICIAN_VIEW,
        )
    except StaleVersion:
        _after_write(launch, None)  # re-read: the conflict page shows the program as it is now
        flash(
            "Someone else changed this stage since you opened the page. This is its current "
            "state; nothing you entered was lost.",
            "error",
        )
        return redirect(url_for("clinician.program"))
    except StageRefused as exc:
        _after_write(launch, None)
        flash(str(exc), "error")
        return redirect(url_for("clinician.program"))
    _after_write(launch, result.write.after, record)
    message = "Stage completed." + (
        " The next stage is ready." if result.next_task else " The program is complete."
    )
    if result.next_planned_end is not None:
        until = day(result.next_planned_end)
        message += f" The later stages' planned dates follow: the next is planned until {until}."
    if result.check.unmet:
        message += " It was recorded as completed early, with your reason and the criteria not met."
    flash(message, "info")
    return redirect(url_for("clinician.program"))


# A stop reason typed on a page someone else's change made stale: shown again in the stop form.
STOP_REASON_KEY = "stop_reason"


def _change_program(change: Callable[..., WriteResult], done: str, stop_reason: str = "") -> Response:
    """Run a program-level change on the page's record (one round trip: the write reads the
    record back for the program page after it) and say how it went on that page; after a
    conflict, the stop reason typed is in the form again."""
    launch, client, record = _known()
    try:
        write = change(client, record, actor_for_launch(launch, client, for_write=True))
    except ProgramRefused as exc:
        _after_write(launch, None, record)  # the page after reads the record as it is now
        flash(str(exc), "error")
    except StaleVersion:
        _after_write(launch, None, record)
        flash("Someone else changed the program since you opened the page; here it is now.", "error")
        if stop_reason:
            session[STOP_REASON_KEY] = stop_reason
    else:
        _after_write(launch, write.after, record)
        flash(done, "info")
    return redirect(url_for("clinician.program"))


@bp.post("/program/resume")
@require_launch
def resume() -> Response:
    return _change_program(
        lambda client, record, actor: resume_program(
            client,
            PROGRAM,
            record.patient_id,
            actor,
            max_screen_age_days=current_app.config["SCREEN_MAX_AGE_DAYS"],
            record=record,
            read_after=CLINICIAN_VIEW,
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
    return _change_program(
        lambda client, record, actor: stop_program(
            client, PROGRAM, record.patient_id, actor, reason, record=record, read_after=CLINICIAN_VIEW
        ),
        "The program was stopped.",
        stop_reason=reason,
    )


@bp.get("/program/sheet")
@require_launch
def sheet() -> Any:
    """The printable handout (one A4 page) for the current stage; while a red flag holds the
    program, the stop banner instead (409 Conflict), never a printable sheet."""
    launch, client, record = _record()
    stopped = _stop_page(record)
    if stopped is not None:
        return stopped
    context = _handout(launch, client, record)
    if context is None:
        return redirect(url_for("clinician.overview"))
    return render_template("clinician/handout.html", **context)


def _stop_page(record: Any) -> Any:
    """The stop banner page (409) while a red flag holds the program, else None."""
    state = record.state(PROGRAM)
    hold = hold_of(state)
    if hold is None:
        return None
    return _page("clinician/stopped.html", record, status=409, state=state, hold=hold)


def _handout(launch: Any, client: Any, record: Any) -> dict[str, Any] | None:
    """What the handout shows, from `record`; None (with a message) without a current stage."""
    state = record.state(PROGRAM)
    if state.current is None:
        flash("There is no current stage to print.", "info")
        return None
    actor = actor_for_launch(launch, client)
    remember_form_patient(record.patient)
    clinic = clinic_for(launch, client)
    settings = {
        "CLINIC_NAME": clinic.name if clinic else "",
        "CLINIC_PHONE": clinic.phone if clinic else "",
        "CLINIC_MEDIA_URLS": current_app.config.get("CLINIC_MEDIA_URLS") or {},
    }
    context = handout_context(record.patient, state.current, actor.display, settings, utcnow().date())
    context.update(
        picture=exercise_picture,
        patient_id=launch.patient_id,
        can_file=grants(launch.scopes, "DocumentReference", "c", PATIENT_LEVELS),
        careplan_id=state.careplan_id,
        submission_id=str(uuid.uuid4()),  # one filing per page shown: a double click files once
    )
    return context


def _pdf(context: dict[str, Any]) -> bytes:
    return render_pdf(render_template("clinician/handout.html", for_pdf=True, **context), request.url_root)


@bp.get("/program/handout.pdf")
@require_launch
def handout_pdf() -> Any:
    launch, client, record = _record()
    stopped = _stop_page(record)
    if stopped is not None:  # no printable sheet while a red flag holds the program
        return stopped
    context = _handout(launch, client, record)
    if context is None:
        return redirect(url_for("clinician.overview"))
    response = make_response(_pdf(context))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = 'inline; filename="home-exercises.pdf"'
    return response


@bp.post("/program/handout/file")
@require_launch
def handout_file() -> Any:
    """File the sheet the page showed, built on that page's record: one transaction that also
    reads the record back for the program page after. It fails closed when the program
    changed since the page (services.handout)."""
    launch, client, record = _known()
    stopped = _stop_page(record)
    if stopped is not None:
        return stopped
    context = _handout(launch, client, record)
    if context is None:
        return redirect(url_for("clinician.overview"))
    if not context["can_file"]:
        flash(
            "This launch may not add documents to the patient's record; print or download it instead.",
            "error",
        )
        return redirect(url_for("clinician.sheet"))
    submission_id = _submission_id(request.form)
    if submission_id is None:
        flash(DAMAGED_FORM, "error")
        return redirect(url_for("clinician.sheet"))
    key = f"handout-{submission_id}"
    try:
        result = file_handout(
            client,
            _pdf(context),
            patient_id=launch.patient_id or "",
            care_plan_id=context["careplan_id"],
            stage_title=f"Stage {context['stage'].number}: {context['stage'].title}",
            actor=actor_for_launch(launch, client, for_write=True),
            key=key,
            shown=(PROGRAM, record),
            read_after=CLINICIAN_VIEW,
        )
    except StaleVersion:
        return _not_filed(launch, key)
    _after_write(launch, result.after, record)
    flash(
        "The handout was filed in the patient's documents."
        if result.created
        else "This handout was already filed in the patient's documents.",
        "info",
    )
    return redirect(url_for("clinician.program"))


def _not_filed(launch: Any, key: str) -> Any:
    """The program changed since the sheet was shown, so nothing was filed: read the record
    afresh and say so, unless it shows this filing made after all (the same form sent twice at
    once); while a red flag holds the program, the stop banner."""
    _after_write(launch, None)
    _, _, record = _record()
    _after_write(launch, record)  # the page after shows what was just read
    if was_filed(record, record.state(PROGRAM).careplan_id, key):
        flash("This handout was already filed in the patient's documents.", "info")
        return redirect(url_for("clinician.program"))
    stopped = _stop_page(record)
    if stopped is not None:
        return stopped
    flash(
        "The program changed since the sheet was shown (a stage was completed, or the plan "
        "changed), so nothing was filed. This is the sheet as it is now: file it again if it is right.",
        "error",
    )
    return redirect(url_for("clinician.sheet"))
