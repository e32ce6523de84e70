"""The sandbox EHR pages: the patient list with Launch buttons, and the launch redirect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, session
from werkzeug.wrappers import Response

from ehr_sandbox.auth.models import LaunchContext
from ehr_sandbox.auth.server import current_runtime
from ehr_sandbox.auth.users import PATIENT_USER_PREFIX, USERS, find_user
from ehr_sandbox.faults import DESCRIPTIONS, NO_FAULT, UnknownFault, parse_fault
from ehr_sandbox.visits import ensure_visit
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError, FhirNotFound

bp = Blueprint("sandbox_ehr", __name__, url_prefix="/ehr")
MAX_PATIENTS = 200
USER_KEY = "sandbox_user"  # who signs in at /auth/authorize: picked with `user=` on the EHR pages


def pick_user() -> None:
    """Remember the `user=` of this request (a known user key) as this browser's sign-in."""
    key = request.args.get("user")
    if any(u.key == key for u in USERS):
        session[USER_KEY] = key


@bp.app_context_processor
def _inject_user() -> dict[str, Any]:
    key = session.get(USER_KEY)
    if isinstance(key, str) and key.startswith(PATIENT_USER_PREFIX):
        return {"signed_in": "a patient (portal)"}
    return {"signed_in": find_user(key).name}


@dataclass(frozen=True)
class PatientSummary:
    """What the EHR list shows of a Patient."""

    id: str
    name: str
    birth_date: str


def summarize_patient(resource: dict[str, Any]) -> PatientSummary:
    """Name, birth date and id of a Patient resource.

    >>> summarize_patient({"id": "7", "birthDate": "1970-02-01",
    ...                    "name": [{"given": ["Ann", "B."], "family": "Lee"}]})
    PatientSummary(id='7', name='Ann B. Lee', birth_date='1970-02-01')
    >>> summarize_patient({"id": "8"}).name
    '(no name)'
    """
    names = resource.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    text = official.get("text") or " ".join([*official.get("given", []), official.get("family", "")]).strip()
    return PatientSummary(
        str(resource.get("id", "")), text or "(no name)", str(resource.get("birthDate", ""))
    )


def list_patients(client: FhirClient, first: list[str] | None = None) -> list[PatientSummary]:
    """Patients of the backing server, the ids in `first` (the seeded ones) at the top, read by
    id, then the most recently changed ones: a server holding more than MAX_PATIENTS patients
    still lists the seeded and the newest."""
    seeded = [found for pid in first or [] if (found := find_patient(client, pid)) is not None]
    resources = client.search_all(
        "Patient", {"_count": "100", "_sort": "-_lastUpdated"}, max_pages=MAX_PATIENTS // 100
    )
    others = [summarize_patient(r) for r in resources if r.get("resourceType") == "Patient"]
    known = {p.id for p in seeded}
    return [*seeded, *(p for p in others if p.id not in known)]


def find_patient(client: FhirClient, patient_id: str) -> PatientSummary | None:
    """The patient with this id, or None when the backing server has none."""
    if not patient_id or "/" in patient_id:
        return None
    try:
        return summarize_patient(client.read("Patient", patient_id))
    except FhirNotFound:
        return None


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query string.

    >>> with_query("http://app/launch?tenant=a", {"iss": "http://ehr/fhir"})
    'http://app/launch?tenant=a&iss=http%3A%2F%2Fehr%2Ffhir'
    """
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def render_page_error(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("sandbox/error.html", title=title, message=message), status


@bp.get("/")
def home() -> str | tuple[str, int]:
    """The patient list: each patient with a fault selector and a Launch button."""
    runtime = current_runtime()
    pick_user()
    try:
        patients = list_patients(runtime.backing_client(), runtime.settings.patient_ids)
    except FhirError:
        return render_page_error(
            502, "FHIR server unavailable", "The EHR's FHIR server is not answering. Try again shortly."
        )
    app_url = runtime.settings.app_launch_url
    coordinator_url = (
        with_query(app_url, {"iss": runtime.settings.fhir_base, "role": "coordinator"}) if app_url else None
    )
    faults = [(NO_FAULT, "none")] + [(f.value, f"{f.value}: {d}") for f, d in DESCRIPTIONS.items()]
    return render_template(
        "sandbox/ehr.html",
        patients=patients,
        faults=faults,
        coordinator_url=coordinator_url,
        fhir_base=runtime.settings.fhir_base,
        users=USERS,
        user=find_user(session.get(USER_KEY)).key,
    )


@bp.get("/launch")
def launch() -> Response | tuple[str, int]:
    """Bind a new launch id to the patient (and fault), then send the browser to the app."""
    runtime = current_runtime()
    pick_user()
    try:
        fault = parse_fault(request.args.get("fault"))
    except UnknownFault:
        return render_page_error(400, "Unknown fault", "Pick a fault from the list.")
    try:
        patient = find_patient(runtime.backing_client(), request.args.get("patient", ""))
    except FhirError:
        return render_page_error(
            502, "FHIR server unavailable", "The EHR's FHIR server is not answering. Try again shortly."
        )
    if patient is None:
        return render_page_error(404, "Patient not found", "There is no such patient.")
    if not runtime.settings.app_launch_url:
        return render_page_error(
            409, "No app configured", "This sandbox has no app launch URL to send you to."
        )
    try:
        visit = ensure_visit(runtime.backing_client(), patient.id)
    except FhirError:
        return render_page_error(
            502, "FHIR server unavailable", "The EHR's FHIR server is not answering. Try again shortly."
        )
    context = LaunchContext(patient_id=patient.id, encounter_id=visit, fault=fault)
    record = runtime.store.create_launch(context)
    params = {"iss": runtime.settings.fhir_base, "launch": record.launch_id}
    return redirect(with_query(runtime.settings.app_launch_url, params), code=302)
