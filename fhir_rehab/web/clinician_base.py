"""What every clinician page shares: the blueprint, the launch patient, the record, the page."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.ids import is_submission_id
from fhir_rehab.launch.context import LaunchContext, current_launch, fhir_client_for_launch
from fhir_rehab.launch.errors import LaunchRequired
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.program.words import STATUS_WORDS as DOMAIN_STATUS_WORDS
from fhir_rehab.program.words import condition_words
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.record import PatientRecord, read_patient_record
from fhir_rehab.web.actor import actor_for_launch
from fhir_rehab.web.dates import day
from fhir_rehab.web.naming import patient_label, patient_name
from fhir_rehab.web.pictures import exercise_picture

bp = Blueprint("clinician", __name__, url_prefix="/patient")
PROGRAM = SCIATICA_PROGRAM
# Plain words for statuses on the clinician's pages (no FHIR status codes); a hold the clinician
# sees is a red-flag hold.
STATUS_WORDS = {**DOMAIN_STATUS_WORDS, "on-hold": "paused for a medical review"}
DAMAGED_FORM = "Nothing was saved: the form was damaged or altered. Reload the page and enter it again."
# The patients whose pages this browser session was shown (id -> [name, "name, born ..."]), kept on the
# server with the session: a form posted for one of them after another launch names the patient.
FORM_PATIENTS_KEY = "form_patients"
FORM_PATIENTS_KEPT = 8
bp.add_app_template_filter(day, "day")
bp.add_app_template_filter(condition_words, "condition_words")


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
    flash(another_patient_message(request.form.get("patient")), "error")
    return redirect(url_for("clinician.overview"))


def another_patient_message(form_patient: object) -> str:
    """Nothing saved: the form was for another patient, named when this browser was shown them."""
    shown = session.get(FORM_PATIENTS_KEY)
    known = shown.get(form_patient) if isinstance(shown, dict) and isinstance(form_patient, str) else None
    name, label = known if isinstance(known, list) and len(known) == 2 else ("", "")
    return (
        (f"This form was for {label}" if label else "This form was for another patient")
        + ", but the app has since been opened for a different patient in this browser (in another "
        "tab or window). Nothing was saved. The patient open now is shown below. To enter it for "
        + (name or "the other patient")
        + ", open their chart in the EHR and launch the app from there again."
    )


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


def remember_form_patient(patient: dict[str, Any]) -> None:
    """Note the patient a page with forms was shown for (id -> [name, label]), the last few only."""
    pid, entry = patient.get("id"), [patient_name(patient), patient_label(patient)]
    shown = session.get(FORM_PATIENTS_KEY)
    shown = dict(shown) if isinstance(shown, dict) else {}
    if not isinstance(pid, str) or shown.get(pid) == entry:
        return
    shown.pop(pid, None)
    shown[pid] = entry
    session[FORM_PATIENTS_KEY] = dict(list(shown.items())[-FORM_PATIENTS_KEPT:])


def _page(template: str, record: PatientRecord, status: int = 200, **context: Any) -> tuple[str, int]:
    remember_form_patient(record.patient)
    return (
        render_template(
            template,
            patient=record.patient,
            program=PROGRAM,
            picture=exercise_picture,
            words=STATUS_WORDS,
            **context,
        ),
        status,
    )
