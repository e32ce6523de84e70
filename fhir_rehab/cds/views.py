"""The CDS Hooks blueprint: discovery, the patient-view service and its feedback endpoint.

Every call is authenticated first (CDS Hooks 2.0 "Trusting CDS Clients"); nothing is parsed,
stored or read from a FHIR server before the client's JWT has been verified.
"""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from fhir_rehab.cds.errors import CdsError, CdsUnauthorized, PrefetchUnavailable
from fhir_rehab.cds.feedback import parse_feedback, store_feedback
from fhir_rehab.cds.hook import parse_hook_call
from fhir_rehab.cds.runtime import CdsRuntime, get_cds_runtime, init_cds
from fhir_rehab.cds.settings import DISCOVERY_PATH, FEEDBACK_PATH, SERVICE_ID, SERVICE_PATH, CdsSettings
from fhir_rehab.cds.trust import CdsCaller
from fhir_rehab.extensions import csrf
from fhir_rehab.fhir.compartment import PatientCompartmentClient
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.cds_prefetch import PREFETCH_TEMPLATES
from fhir_rehab.services.cds import answer_patient_view
from fhir_rehab.services.cds_cards import CardContext, kind_of
from fhir_rehab.services.errors import PatientDataUnavailable
from fhir_rehab.services.writes import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("cds", __name__)
csrf.exempt(bp)  # a JSON API authenticated by a signed JWT per call, not a browser form

SERVICE = {
    "hook": "patient-view",
    "id": SERVICE_ID,
    "title": "Staged physiotherapy for sciatica",
    "description": (
        "When a patient's chart opens: suggests the staged physiotherapy program to an eligible "
        "patient with sciatica, warns of an open red-flag review, or shows the program's progress."
    ),
    "prefetch": PREFETCH_TEMPLATES,
}


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    init_cds(state.app)  # type: ignore[arg-type]  # the app is a Flask app


def _settings() -> CdsSettings:
    return get_cds_runtime(current_app).settings


def _authenticate(runtime: CdsRuntime, path: str) -> CdsCaller:
    return runtime.verifier.verify(request.headers.get("Authorization"), runtime.settings.audience(path))


@bp.get(DISCOVERY_PATH)
def discovery() -> Response:
    runtime = get_cds_runtime(current_app)
    _authenticate(runtime, DISCOVERY_PATH)
    return jsonify({"services": [SERVICE]})


@bp.post(SERVICE_PATH)
def patient_view() -> Response:
    runtime = get_cds_runtime(current_app)
    caller = _authenticate(runtime, SERVICE_PATH)
    call = parse_hook_call(request.get_json(silent=True))
    settings = runtime.settings
    client = None
    if call.fhir_server and call.access_token:
        base = settings.allowed_fhir_server(caller.client, call.fhir_server)
        if base is None:
            log.warning("cds: fhirServer not on the allowlist; only the prefetch is used")
        else:
            token = call.access_token
            client = PatientCompartmentClient(
                base,
                call.patient_id,
                token_provider=lambda: token,
                timeout=settings.fhir_timeout,
                max_retries=0,
                session=runtime.http,
            )
    if settings.launch_url is None:
        raise CdsUnauthorized("PUBLIC_URL is not set")
    ctx = CardContext(caller.issuer, call.patient_id, settings.launch_url, runtime.app_version, utcnow())
    cards = answer_patient_view(call.patient_id, call.prefetch, client, ctx, SCIATICA_PROGRAM)
    runtime.store.remember_cards({card["uuid"]: kind_of(card) for card in cards})
    return jsonify({"cards": cards})


@bp.post(FEEDBACK_PATH)
def feedback() -> Response:
    runtime = get_cds_runtime(current_app)
    caller = _authenticate(runtime, FEEDBACK_PATH)
    items = parse_feedback(request.get_json(silent=True))
    stored, repeated = store_feedback(runtime.store, caller.issuer, items, now=utcnow())
    return jsonify({"stored": stored, "alreadyStored": repeated})


# -- errors: JSON, never a page; 401 says nothing more -------------------------------------------
@bp.errorhandler(CdsUnauthorized)
def _unauthorized(error: CdsUnauthorized) -> tuple[Response, int, dict[str, str]]:
    log.warning("cds: 401 (%s) %s %s", error.reason, request.method, request.path)
    return jsonify({"error": "unauthorized"}), 401, {"WWW-Authenticate": 'Bearer realm="cds-services"'}


@bp.errorhandler(PatientDataUnavailable)
def _unavailable(error: PatientDataUnavailable) -> tuple[Response, int]:
    log.warning("cds: 412 %s", error.user_message)
    return jsonify({"error": error.user_message}), PrefetchUnavailable.status


@bp.errorhandler(CdsError)
def _bad_request(error: CdsError) -> tuple[Response, int]:
    return jsonify({"error": error.user_message}), error.status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    return jsonify({"error": error.name}), error.code or 500


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> tuple[Response, int]:
    reference = secrets.token_hex(4)
    log.error("cds: unexpected %s (reference %s)", type(error).__name__, reference, exc_info=error)
    return jsonify({"error": "internal error", "reference": reference}), 500
