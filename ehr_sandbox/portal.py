"""The sandbox's patient portal: sign in as a synthetic patient and open the exercise app.

A portal sign-in makes the browser's sandbox user that patient (fhirUser `Patient/<id>`); the
"Open my exercises" link is a SMART standalone launch (`launch/patient`) whose patient is the
signed-in patient, never one they pick.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from ehr_sandbox.auth.server import current_runtime
from ehr_sandbox.auth.users import PATIENT_USER_PREFIX
from ehr_sandbox.ehr import USER_KEY, find_patient, list_patients, render_page_error, with_query
from fhir_rehab.fhir.errors import FhirError

bp = Blueprint("sandbox_portal", __name__, url_prefix="/portal")
UNAVAILABLE = "The FHIR server is not answering. Try again shortly."


def signed_in_patient() -> str | None:
    """The Patient id of this browser's portal sign-in, if any."""
    key = session.get(USER_KEY)
    if isinstance(key, str) and key.startswith(PATIENT_USER_PREFIX):
        return key[len(PATIENT_USER_PREFIX) :]
    return None


@bp.get("/")
def home() -> str | tuple[str, int]:
    """Sign-in (pick one of the synthetic patients), or the signed-in patient's page."""
    runtime = current_runtime()
    client = runtime.backing_client()
    try:
        patient_id = signed_in_patient()
        me = find_patient(client, patient_id) if patient_id else None
        patients = [] if me else list_patients(client, runtime.settings.patient_ids)
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    app_url = runtime.settings.app_launch_url
    launch_url = (
        with_query(app_url, {"iss": runtime.settings.fhir_base, "role": "patient"})
        if app_url and me
        else None
    )
    return render_template(
        "sandbox/portal.html", me=me, patients=patients, launch_url=launch_url, csrf_token=generate_csrf()
    )


def _form_checked() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@bp.post("/sign-in")
def sign_in() -> Response | tuple[str, int]:
    """Sign in as a listed patient (a sandbox has no passwords: picking is signing in)."""
    if not _form_checked():
        return render_page_error(400, "Sign-in failed", "The form expired: reload the portal and try again.")
    runtime = current_runtime()
    try:
        patient = find_patient(runtime.backing_client(), request.form.get("patient", ""))
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    if patient is None:
        return render_page_error(404, "Patient not found", "There is no such patient.")
    session[USER_KEY] = f"{PATIENT_USER_PREFIX}{patient.id}"
    return redirect(url_for("sandbox_portal.home"), code=303)


@bp.post("/sign-out")
def sign_out() -> Response | tuple[str, int]:
    if not _form_checked():
        return render_page_error(400, "Sign-out failed", "The form expired: reload the portal and try again.")
    if signed_in_patient():
        session.pop(USER_KEY, None)
    return redirect(url_for("sandbox_portal.home"), code=303)
