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
from fhir_rehab.services.record import PatientRecord, add_goals, read_patient_record
from fhir_rehab.web.actor import actor_to_read, remember_actor
from fhir_rehab.web.clinic import clinic_lookups, remember_clinic
from fhir_rehab.web.dates import day
from fhir_rehab.web.naming import patient_label, patient_name
from fhir_rehab.web.pictures import exercise_picture
from fhir_rehab.web.snapshots import snapshot_key, snapshots

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


def _record() -> tuple[LaunchContext, Any, PatientRecord]:
    """For a page: the record a form post of this session just read back inside its own
    transaction (web.snapshots), or else one read; either way kept for the page's forms."""
    return _snapshot_or_read(fresh_only=True)


def _read(launch: LaunchContext, client: FhirClient, key: str | None) -> PatientRecord:
    """The record in one batch, with the signed-in user's resource the first time (so no write
    later needs a request of its own to name its author), and the program's Goals by id as
    the page before knew them (for servers without `_include=CarePlan:goal`)."""
    user = actor_to_read(launch, client)
    before = snapshots().load(key, launch.patient_id or "") if key else None
    goals = [
        f"Goal/{r['id']}" for r in (before.resources if before else []) if r.get("resourceType") == "Goal"
    ]
    clinic = clinic_lookups(launch)  # the handout's clinic, the first time in a launch
    also = [*([user] if user else []), *goals, *clinic]
    record = read_patient_record(client, launch.patient_id or "", also=also)
    if user:
        remember_actor(launch, user, record.also.get(user))
    remember_clinic(launch, record.also, clinic)
    add_goals(record, [record.also.get(g) for g in goals])
    return record


def _known() -> tuple[LaunchContext, Any, PatientRecord]:
    """For a form post: the record the user's page was rendered from (no request), or one read
    when there is none. Writes built on it are guarded (see web.snapshots)."""
    return _snapshot_or_read(fresh_only=False)


def _snapshot_or_read(*, fresh_only: bool) -> tuple[LaunchContext, Any, PatientRecord]:
    """The session's kept record (only one a write just read back, with `fresh_only`), or one
    read, kept for the page's forms."""
    launch = _launch()
    client = fhir_client_for_launch(launch)
    key = snapshot_key(launch)
    kept = snapshots().load(key, launch.patient_id or "", fresh_only=fresh_only) if key else None
    if kept is not None:
        return launch, client, kept
    record = _read(launch, client, key)
    if key:
        snapshots().save(key, record, fresh=False)
    return launch, client, record


def _after_write(
    launch: LaunchContext, record: PatientRecord | None, known: PatientRecord | None = None
) -> None:
    """Keep the record a write read back, for the page it redirects to. Without one (a refused
    or conflicting write), the next page reads; `known` (the record the write was built on) is
    then kept for the forms only, so the page's read still finds the program's Goals by id on a
    server that does not include them (`_read`). With a record, `known`'s Goals fill in for
    such a server (services.record.add_goals)."""
    key = snapshot_key(launch)
    if not key:
        return
    if record is not None:
        add_goals(record, known.resources if known else [])
        snapshots().save(key, record, fresh=True)
    elif known is not None:
        snapshots().save(key, known, fresh=False)
    else:
        snapshots().forget(key)


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
