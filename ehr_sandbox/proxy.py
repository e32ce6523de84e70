"""The sandbox FHIR endpoint: bearer token and scope checks, then a proxy to the backing server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import requests
from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Blueprint, request
from werkzeug.wrappers import Response

from ehr_sandbox.auth.access import (
    Interaction,
    authorize_interaction,
    check_patch,
    check_patient_user,
    check_resource,
    classify_entry,
    classify_request,
)
from ehr_sandbox.auth.discovery import add_smart_security
from ehr_sandbox.auth.models import AccessToken
from ehr_sandbox.auth.scopes import Access, access_for, split_scopes
from ehr_sandbox.auth.server import SandboxRuntime, current_runtime
from ehr_sandbox.errors import (
    AccessDenied,
    BackingUnavailable,
    NotAuthenticated,
    SandboxError,
    SimulatedServerError,
    UnsupportedRequest,
)
from ehr_sandbox.faults import Fault

bp = Blueprint("sandbox_proxy", __name__)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
FHIR_JSON = "application/fhir+json"
REQUEST_HEADERS = (
    "Accept",
    "Content-Type",
    "If-Match",
    "If-None-Exist",
    "If-None-Match",
    "If-Modified-Since",
    "Prefer",
    "Cache-Control",
)
RESPONSE_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Location", "Content-Location")
REALM = "fhir-rehab-sandbox"


@bp.route("/fhir", defaults={"path": ""}, methods=METHODS, strict_slashes=False)
@bp.route("/fhir/<path:path>", methods=METHODS)
def proxy(path: str) -> Response:
    """Every FHIR interaction on the sandbox base; only `metadata` goes without a token."""
    runtime = current_runtime()
    try:
        if path.strip("/") == "metadata" and request.method in ("GET", "HEAD"):
            return forward_metadata(runtime)
        if path.startswith(".well-known/"):
            return outcome(404, "not-found", "No such discovery document.")
        token = authenticate(runtime)
        if is_paging_link(path):
            return forward_page(runtime, token)
        post_check = authorize(runtime, token, path)
        response = forward(runtime, request.method, path, request.query_string.decode(), request.get_data())
        if post_check and 200 <= response.status_code < 300 and token.context.patient_id:
            check_resource(json_or_none(response.content), token.context.patient_id)
        return to_flask_response(runtime, response)
    except SandboxError as error:
        headers = (
            {"WWW-Authenticate": error.www_authenticate} if isinstance(error, NotAuthenticated) else None
        )
        return outcome(error.status, error.code, error.user_message, headers)


def authenticate(runtime: SandboxRuntime) -> AccessToken:
    """The request's valid, unexpired bearer token (authlib ResourceProtector), or 401."""
    try:
        token = runtime.resources.validate_request(scopes=None, request=FlaskJsonRequest(request))
    except MissingAuthorizationError:
        raise NotAuthenticated(
            "A bearer access token is required.", www_authenticate=f'Bearer realm="{REALM}"'
        ) from None
    except OAuth2Error:
        raise NotAuthenticated(
            "The access token is invalid or expired.", www_authenticate=invalid_token_header()
        ) from None
    if token.context.fault is Fault.REQUEST_INVALID_TOKEN:
        raise NotAuthenticated(
            "The access token is invalid (simulated fault).", www_authenticate=invalid_token_header()
        )
    if token.context.fault is Fault.FHIR_SERVER_ERROR:
        raise SimulatedServerError("The FHIR server failed (simulated fault).")
    return token


def is_paging_link(path: str) -> bool:
    """`GET [base]?_getpages=...`: a page of an earlier search (HAPI's paging links)."""
    return not path.strip("/") and request.method in ("GET", "HEAD") and "_getpages" in request.args


def forward_page(runtime: SandboxRuntime, token: AccessToken) -> Response:
    """A paging link continues a search already authorized; its page is checked like a search
    answer: every resource's type must be readable with the token's scopes, and under
    patient-level access every resource must be the launch patient's."""
    response = forward(runtime, request.method, "", request.query_string.decode(), b"")
    page = json_or_none(response.content)
    if response.status_code == 200 and isinstance(page, dict):
        scopes = split_scopes(token.scope)
        for entry in page.get("entry") or []:
            rtype = str((entry.get("resource") or {}).get("resourceType", ""))
            access = access_for(scopes, rtype, "s")
            if access is None:
                raise AccessDenied(f"The granted scopes do not allow searching {rtype}.")
            if access is Access.PATIENT:
                if not token.context.patient_id:
                    raise AccessDenied("Patient-level scopes need a patient in the launch context.")
                check_resource(entry.get("resource"), token.context.patient_id)
    return to_flask_response(runtime, response)


def invalid_token_header() -> str:
    return dict(InvalidTokenError(realm=REALM).get_headers())["WWW-Authenticate"]


def authorize(runtime: SandboxRuntime, token: AccessToken, path: str) -> bool:
    """Check scopes and the patient compartment; True when the response must be checked too.

    Under patient-level access every answer is checked, writes included: a conditional
    create (or a transaction entry's `ifNoneExist`) can match, and return, another patient's
    resource.
    """
    scopes = split_scopes(token.scope)
    patient_id = token.context.patient_id
    params = list(request.args.items(multi=True))
    if path.rstrip("/").endswith("/_search"):
        params += parse_qsl(request.get_data(as_text=True), keep_blank_values=True)
    interaction = classify_request(request.method, path, params)
    patient_user = token.user.is_patient
    if interaction.kind == "batch":
        return authorize_bundle(
            runtime, json_or_none(request.get_data()), scopes, patient_id, patient_user=patient_user
        )
    access = authorize_interaction(interaction, scopes, patient_id)
    body = json_or_none(request.get_data()) if interaction.kind in ("c", "u") else None
    if patient_user:
        check_patient_user(interaction, access, body)
    if access is Access.PATIENT and patient_id:
        check_writes(runtime, interaction, body, patient_id, patch=request.method == "PATCH")
        return True
    return False


def authorize_bundle(
    runtime: SandboxRuntime,
    bundle: Any,
    scopes: list[str],
    patient_id: str | None,
    *,
    patient_user: bool = False,
) -> bool:
    """Check every entry of a transaction or batch as if it were its own request."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") not in ("transaction", "batch")
    ):
        raise UnsupportedRequest("Only a transaction or batch Bundle can be posted to the base.")
    post_check = False
    for entry in bundle.get("entry") or []:
        interaction = classify_entry(entry, runtime.settings.fhir_base)
        access = authorize_interaction(interaction, scopes, patient_id)
        if patient_user:
            check_patient_user(interaction, access, entry.get("resource"))
        if access is Access.PATIENT and patient_id:
            method = str((entry.get("request") or {}).get("method", "")).upper()
            check_writes(runtime, interaction, entry.get("resource"), patient_id, patch=method == "PATCH")
            post_check = True
    return post_check


def check_writes(
    runtime: SandboxRuntime, interaction: Interaction, body: Any, patient_id: str, *, patch: bool
) -> None:
    """Under patient-only access a write must stay in (and start in) the patient's compartment."""
    if interaction.kind not in ("c", "u", "d"):
        return
    if interaction.kind in ("c", "u"):
        if patch:
            check_patch(body)
        elif not isinstance(body, dict):
            raise AccessDenied("Only a JSON resource can be checked under patient-level scopes.")
        else:
            check_resource(body, patient_id)
    if interaction.resource_id and interaction.resource_type:
        current = forward(runtime, "GET", f"{interaction.resource_type}/{interaction.resource_id}", "", b"")
        if current.status_code == 200:
            check_resource(json_or_none(current.content), patient_id)


def forward(runtime: SandboxRuntime, method: str, path: str, query: str, body: bytes) -> requests.Response:
    """Send the request on to the backing server, with our base rewritten to its base."""
    backing, public = runtime.settings.backing_fhir_base, runtime.settings.fhir_base
    url = f"{backing}/{path}" if path else backing
    headers = {name: request.headers[name] for name in REQUEST_HEADERS if name in request.headers}
    data = body.replace(public.encode(), backing.encode()) if body else None
    try:
        return requests.request(
            method,
            f"{url}?{query}" if query else url,
            data=data,
            headers=headers,
            timeout=runtime.settings.timeout,
            allow_redirects=False,
        )
    except requests.RequestException:
        raise BackingUnavailable("The backing FHIR server is not answering.") from None


def to_flask_response(runtime: SandboxRuntime, response: requests.Response) -> Response:
    """The backing server's answer with every backing URL turned into a sandbox URL."""
    backing, public = runtime.settings.backing_fhir_base, runtime.settings.fhir_base
    content = response.content.replace(backing.encode(), public.encode())
    headers = {
        name: response.headers[name].replace(backing, public)
        for name in RESPONSE_HEADERS
        if name in response.headers
    }
    return Response(content, status=response.status_code, headers=headers)


def forward_metadata(runtime: SandboxRuntime) -> Response:
    """The backing CapabilityStatement, announcing the sandbox's SMART endpoints."""
    response = forward(runtime, "GET", "metadata", request.query_string.decode(), b"")
    capability = json_or_none(response.content)
    if response.status_code != 200 or not isinstance(capability, dict):
        return to_flask_response(runtime, response)
    add_smart_security(capability, runtime.authorize_url, runtime.token_url)
    text = json.dumps(capability).replace(runtime.settings.backing_fhir_base, runtime.settings.fhir_base)
    return Response(text, status=200, content_type=FHIR_JSON)


def json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def outcome(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An OperationOutcome response: what went wrong, never a token."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }
    return Response(json.dumps(body), status=status, headers=headers, content_type=FHIR_JSON)
