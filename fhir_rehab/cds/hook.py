"""Reading a CDS Hooks 2.0 service request (`patient-view`): every field checked at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fhir_rehab.cds.errors import BadHookRequest
from fhir_rehab.resources.cds_prefetch import is_fhir_id

HOOK = "patient-view"
MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class HookCall:
    """What the service uses of a call: the patient, the prefetch, and FHIR access if given."""

    hook_instance: str
    patient_id: str
    user_id: str | None
    prefetch: Any
    fhir_server: str | None
    access_token: str | None


def parse_hook_call(body: Any) -> HookCall:
    """The call, or BadHookRequest saying what is wrong (CDS Hooks 2.0 "Calling a CDS Service").

    >>> call = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"}}
    >>> parse_hook_call(call).patient_id
    'p1'
    """
    if not isinstance(body, dict):
        raise BadHookRequest("The request body must be a JSON object.")
    if body.get("hook") != HOOK:
        raise BadHookRequest(f"This service answers the {HOOK} hook only.")
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not 0 < len(instance) <= 128:
        raise BadHookRequest("hookInstance is required (a UUID).")
    context = body.get("context")
    if not isinstance(context, dict) or not is_fhir_id(context.get("patientId")):
        raise BadHookRequest("context.patientId is required and must be a FHIR id.")
    user = context.get("userId")
    if user is not None and not isinstance(user, str):
        raise BadHookRequest("context.userId must be a string.")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise BadHookRequest("prefetch must be an object.")
    server, token = _fhir_access(body)
    return HookCall(instance, context["patientId"], user, prefetch, server, token)


def _fhir_access(body: dict[str, Any]) -> tuple[str | None, str | None]:
    server = body.get("fhirServer")
    auth = body.get("fhirAuthorization")
    if server is not None:
        parts = urlsplit(server) if isinstance(server, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadHookRequest("fhirServer must be an absolute http(s) URL.")
    if auth is None:
        return server, None
    if server is None:
        raise BadHookRequest("fhirAuthorization needs fhirServer.")
    if not isinstance(auth, dict):
        raise BadHookRequest("fhirAuthorization must be an object.")
    token = auth.get("access_token")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise BadHookRequest("fhirAuthorization.access_token is required.")
    if str(auth.get("token_type", "")).lower() != "bearer":
        raise BadHookRequest("fhirAuthorization.token_type must be Bearer.")
    return server, token
