"""The clinician's medical-review form: the only way a review Task closes (issue 7)."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, request, url_for

from fhir_rehab.launch.context import require_launch
from fhir_rehab.program.review import OUTCOMES, parse_outcome
from fhir_rehab.resources.queries import CLINICIAN_VIEW
from fhir_rehab.services.errors import ReviewRefused, StaleVersion
from fhir_rehab.services.record import PatientRecord
from fhir_rehab.services.review import record_review
from fhir_rehab.web.actor import actor_for_launch
from fhir_rehab.web.clinician_base import PROGRAM, _after_write, _known, _page, _record, bp

RESOURCE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id
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
    launch, client, record = _known()
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
            result = record_review(
                client,
                PROGRAM,
                launch.patient_id or "",
                task_id,
                outcome,
                note,
                actor_for_launch(launch, client, for_write=True),
                expected_version=request.form.get("version") or None,
                record=record,
                read_after=CLINICIAN_VIEW,
            )
        except ReviewRefused as exc:
            errors.append(str(exc))
        except StaleVersion:
            errors.append(
                "Someone changed this review since you opened it. Here it is now; your outcome "
                "and note are kept below: check them and record again."
            )
            _after_write(launch, None, record)  # the form shown again is built on the record as it is now
            launch, client, record = _record()
            state, review = _open_review(record, task_id)
            if review is None:
                return redirect(url_for("clinician.overview"))
        else:
            _after_write(launch, result.write.after, record)
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
