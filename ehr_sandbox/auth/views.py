"""Authorization server endpoints: authorize (with consent), token, discovery, JWKS, style."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, jsonify, render_template, request, session
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from ehr_sandbox.auth.discovery import (
    SMART_STYLE,
    openid_configuration,
    public_jwks,
    smart_configuration,
)
from ehr_sandbox.auth.scopes import describe_scope, split_scopes
from ehr_sandbox.auth.server import SandboxRuntime, current_runtime
from ehr_sandbox.ehr import (
    USER_KEY,
    PatientSummary,
    find_patient,
    list_patients,
    render_page_error,
)
from ehr_sandbox.faults import AUTHORIZE_FAULTS, Fault, describe_fault
from fhir_rehab.fhir.errors import FhirError

bp = Blueprint("sandbox_auth", __name__)
Page = Response | tuple[str, int] | str

UNAVAILABLE = "The EHR's FHIR server is not answering. Try again shortly."
# What each authorize-side fault reports, as the OAuth error a real server would give.
FAULT_ERRORS = {
    Fault.AUTH_INVALID_CLIENT_ID: "invalid_client: the client_id is not registered",
    Fault.AUTH_INVALID_REDIRECT_URI: "invalid_request: the redirect_uri is not registered",
    Fault.AUTH_INVALID_SCOPE: "invalid_scope: the requested scope is not allowed",
    Fault.AUTH_INVALID_CLIENT_SECRET: "invalid_client: the client credentials are invalid",
}


@bp.route("/auth/authorize", methods=["GET", "POST"])
def authorize() -> Page:
    """Validate the request (authlib), ask for consent, then redirect with a code or an error."""
    runtime = current_runtime()
    launch = runtime.store.get_launch(request.args.get("launch"))
    fault = launch.context.fault if launch else None
    if fault in AUTHORIZE_FAULTS:
        # Simulated errors stop here, on a page: never redirect to an unvalidated redirect_uri.
        assert fault is not None  # noqa: S101 - narrowed for mypy
        return render_page_error(
            400, "Authorization failed", f"{FAULT_ERRORS[fault]} (simulated fault: {describe_fault(fault)})"
        )
    try:
        user = runtime.current_user(session.get(USER_KEY))  # picked on the EHR page (user=)
        grant = runtime.authorization.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return render_oauth_error(runtime, error)
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    if user.is_patient:
        return authorize_patient(runtime, grant, user)
    choose_patient = grant.smart_launch is None and "launch/patient" in split_scopes(grant.request.scope)
    try:
        patients = (
            list_patients(runtime.backing_client(), runtime.settings.patient_ids) if choose_patient else []
        )
        if request.method == "GET" and not runtime.settings.auto_approve:
            return render_consent(runtime, grant, patients)
        approved, patient_id = read_decision(runtime, patients)
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    except ValidationError:
        return render_page_error(
            400, "Authorization failed", "The consent form expired or was not sent by this page."
        )
    if approved and choose_patient and patient_id is None and patients:
        return render_page_error(400, "Authorization failed", "Choose a listed patient.")
    grant.selected_patient_id = patient_id
    return runtime.authorization.create_authorization_response(
        grant_user=user if approved else None, grant=grant
    )


def authorize_patient(runtime: SandboxRuntime, grant: Any, user: Any) -> Page:
    """A patient signed in at the portal: a standalone launch about themselves only, with
    patient-level scopes (never user/ or system/ ones, never an EHR launch)."""
    scopes = split_scopes(grant.request.scope)
    wider = [s for s in scopes if s.startswith(("user/", "system/")) or s == "launch"]
    if grant.smart_launch is not None or wider:
        return render_page_error(
            400,
            "Authorization failed",
            "A patient can grant an app access to their own record only (patient-level access).",
        )
    try:
        if request.method == "GET" and not runtime.settings.auto_approve:
            return render_consent(runtime, grant, [], patient_id=user.patient_id)
        approved = request.method == "GET" or _approved()
    except ValidationError:
        return render_page_error(
            400, "Authorization failed", "The consent form expired or was not sent by this page."
        )
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    grant.selected_patient_id = user.patient_id if "launch/patient" in scopes else None
    return runtime.authorization.create_authorization_response(
        grant_user=user if approved else None, grant=grant
    )


def _approved() -> bool:
    validate_csrf(request.form.get("csrf_token"))
    return request.form.get("decision") == "approve"


def read_decision(runtime: SandboxRuntime, patients: list[PatientSummary]) -> tuple[bool, str | None]:
    """Approve or deny, and the chosen patient (only from a POSTed, CSRF-checked form)."""
    listed = [p.id for p in patients]
    if request.method == "GET":  # auto_approve: the first (seeded) patient
        return True, listed[0] if listed else None
    validate_csrf(request.form.get("csrf_token"))
    approved = request.form.get("decision") == "approve"
    chosen = request.form.get("patient")
    return approved, chosen if chosen in listed else None


def render_consent(
    runtime: SandboxRuntime, grant: Any, patients: list[PatientSummary], patient_id: str | None = None
) -> str:
    """The consent page: who asks, for what, about whom; Approve or Deny."""
    launch = grant.smart_launch
    patient = None
    if launch is not None and launch.context.patient_id:
        patient_id = launch.context.patient_id
    if patient_id:
        patient = find_patient(runtime.backing_client(), patient_id)
    scopes = [(s, describe_scope(s)) for s in split_scopes(grant.request.scope)]
    return render_template(
        "sandbox/consent.html",
        client_id=grant.request.client.get_client_id(),
        action=request.full_path,
        csrf_token=generate_csrf(),
        patient=patient,
        choose_patient=bool(patients),
        patients=patients,
        scopes=scopes,
    )


def render_oauth_error(runtime: SandboxRuntime, error: OAuth2Error) -> Page:
    """Redirect the error when authlib validated the redirect URI; otherwise show a page."""
    if error.redirect_uri:
        return runtime.authorization.handle_error_response(None, error)
    detail = f"{error.error}: {error.description}" if error.description else str(error.error)
    return render_page_error(400, "Authorization failed", detail)


@bp.post("/auth/token")
def issue_token() -> Response:
    """The token endpoint: authorization_code and refresh_token grants (authlib)."""
    return current_runtime().authorization.create_token_response()


@bp.post("/auth/revoke")
def revoke_token() -> Response:
    """RFC 7009 token revocation (authlib): the app calls it when a user signs out."""
    return current_runtime().authorization.create_endpoint_response("revocation")


@bp.get("/fhir/.well-known/smart-configuration")
def smart_config() -> Response:
    runtime = current_runtime()
    document = smart_configuration(
        runtime.settings.fhir_base, runtime.authorize_url, runtime.token_url, runtime.jwks_url
    )
    document["revocation_endpoint"] = runtime.revocation_url  # RFC 7009
    return jsonify(document)


@bp.get("/fhir/.well-known/openid-configuration")
def openid_config() -> Response:
    runtime = current_runtime()
    return jsonify(
        openid_configuration(
            runtime.settings.fhir_base, runtime.authorize_url, runtime.token_url, runtime.jwks_url
        )
    )


@bp.get("/auth/jwks")
def jwks() -> Response:
    return jsonify(public_jwks(current_runtime().settings.key))


@bp.get("/auth/smart-style.json")
def smart_style() -> Response:
    return jsonify(SMART_STYLE)
