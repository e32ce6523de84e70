"""The sandbox EHR as a CDS Hooks 2.0 client: sign the call, prefetch, send, read the cards.

When a chart opens the EHR discovers the app's services, fills each prefetch template for the
patient from its own FHIR data (one batch), mints a short-lived, patient-scoped FHIR token for
`fhirAuthorization`, signs an ES384 JWT (`aud` = the URL called, `jku` = its published key set)
and posts the `patient-view` hook.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.jwk import ECKey
from markdown_it import MarkdownIt

from ehr_sandbox.auth.models import AccessToken, LaunchContext, SandboxUser
from ehr_sandbox.auth.server import SandboxRuntime
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError

log = logging.getLogger(__name__)

CDS_CLIENT_ID = "fhir-rehab-cds"  # the service's client id at this EHR's authorization server
CDS_SCOPE = (
    "patient/Patient.rs patient/Condition.rs patient/CarePlan.rs patient/Task.rs patient/Observation.rs"
)
JWT_LIFETIME = 300
TOKEN_LIFETIME = 300
HOOK_TIMEOUT = 10.0
DISCOVERY_TTL = 300.0
PATIENT_TOKEN = "{{context.patientId}}"  # noqa: S105 - a prefetch token, not a secret
_TOKEN = re.compile(r"\{\{[^}]*\}\}")


class CdsMode(StrEnum):
    """How the chart calls the hook: the normal way, or a variation to see another path."""

    PREFETCH = "prefetch"
    NO_PREFETCH = "no_prefetch"
    INVALID_JWT = "cds_invalid_jwt"


CDS_MODES: dict[CdsMode, str] = {
    CdsMode.PREFETCH: "prefetch every template (normal)",
    CdsMode.NO_PREFETCH: "no prefetch: the service reads FHIR with the token it is given",
    CdsMode.INVALID_JWT: "fault: sign the call with a key the EHR never published (the service must refuse)",
}


@dataclass
class CdsAnswer:
    """What came back from one hook call."""

    status: int | None
    cards: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


_discovery: dict[str, tuple[float, dict[str, Any]]] = {}


def sign_call(runtime: SandboxRuntime, aud: str, *, invalid: bool = False) -> str:
    """The CDS client JWT for one call (CDS Hooks 2.0 "Trusting CDS Clients")."""
    settings = runtime.settings
    key = settings.cds_key
    assert key is not None  # noqa: S101 - SandboxSettings made it
    kid = key.kid
    if invalid:  # same kid, but a key nobody published: the signature cannot verify
        key = ECKey.generate_key("P-384", private=True)
    now = int(time.time())
    header = {"alg": "ES384", "typ": "JWT", "kid": kid, "jku": settings.cds_jwks_url}
    claims = {
        "iss": settings.cds_issuer,
        "aud": aud,
        "exp": now + JWT_LIFETIME,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(header, claims, key, algorithms=["ES384"])


def public_cds_jwks(runtime: SandboxRuntime) -> dict[str, Any]:
    key = runtime.settings.cds_key
    assert key is not None  # noqa: S101 - SandboxSettings made it
    return {"keys": [key.as_dict(private=False, alg="ES384", use="sig")]}


def discover(runtime: SandboxRuntime, http: requests.Session) -> dict[str, Any] | None:
    """The app's patient-view service from its discovery document (kept a few minutes)."""
    url = runtime.settings.cds_services_url
    if not url:
        return None
    cached = _discovery.get(url)
    if cached and time.time() - cached[0] < DISCOVERY_TTL:
        return cached[1]
    response = http.get(url, headers=_auth(sign_call(runtime, url)), timeout=HOOK_TIMEOUT)
    response.raise_for_status()
    services = response.json().get("services") or []
    service = next((s for s in services if isinstance(s, dict) and s.get("hook") == "patient-view"), None)
    if service is not None:
        _discovery[url] = (time.time(), service)
    return service


def build_prefetch(client: FhirClient, templates: dict[str, str], patient_id: str) -> dict[str, Any]:
    """Each template the EHR can fill (only `{{context.patientId}}`), answered in one batch.

    CDS Hooks 2.0: a key with no data is `null`; a key the EHR cannot satisfy is left out."""
    usable = {
        key: template.replace(PATIENT_TOKEN, patient_id)
        for key, template in templates.items()
        if isinstance(template, str) and not _TOKEN.search(template.replace(PATIENT_TOKEN, ""))
    }
    answers = client.batch(list(usable.values()), missing_ok=True)
    prefetch: dict[str, Any] = {}
    for key, answer in zip(usable, answers, strict=True):
        empty = answer is None or (answer.get("resourceType") == "Bundle" and not answer.get("entry"))
        prefetch[key] = None if empty else answer
    return prefetch


def mint_fhir_token(runtime: SandboxRuntime, user: SandboxUser, patient_id: str) -> dict[str, Any]:
    """A short-lived access token for the service, limited to this patient (`fhirAuthorization`)."""
    now = time.time()
    token = AccessToken(
        access_token=generate_token(42),
        client_id=CDS_CLIENT_ID,
        scope=CDS_SCOPE,
        user=user,
        context=LaunchContext(patient_id=patient_id),
        expires_at=now + TOKEN_LIFETIME,
        issued_at=now,
    )
    runtime.store.save_access_token(token)
    return {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": CDS_SCOPE,
        "subject": CDS_CLIENT_ID,
    }


def call_patient_view(
    runtime: SandboxRuntime, http: requests.Session, user: SandboxUser, patient_id: str, mode: CdsMode
) -> CdsAnswer:
    """Discover, prefetch, sign and call; any failure is an answer with a problem in words."""
    try:
        service = discover(runtime, http)
    except (requests.RequestException, ValueError) as error:
        return CdsAnswer(None, problem=f"The app's CDS discovery failed ({type(error).__name__}).")
    if service is None or not isinstance(service.get("id"), str):
        return CdsAnswer(None, problem="The app offers no patient-view CDS service.")
    url = f"{runtime.settings.cds_services_url}/{service['id']}"
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": runtime.settings.fhir_base,
        "fhirAuthorization": mint_fhir_token(runtime, user, patient_id),
        "context": {"userId": user.fhir_user or "Practitioner/unknown", "patientId": patient_id},
    }
    if mode is not CdsMode.NO_PREFETCH:
        try:
            body["prefetch"] = build_prefetch(
                runtime.backing_client(), service.get("prefetch") or {}, patient_id
            )
        except FhirError:
            log.warning("cds prefetch failed; calling without it")
    token = sign_call(runtime, url, invalid=mode is CdsMode.INVALID_JWT)
    try:
        response = http.post(url, json=body, headers=_auth(token), timeout=HOOK_TIMEOUT)
    except requests.RequestException as error:
        return CdsAnswer(None, problem=f"The CDS service did not answer ({type(error).__name__}).")
    if response.status_code != 200:
        return CdsAnswer(
            response.status_code, problem=f"The CDS service refused the call: HTTP {response.status_code}."
        )
    try:
        cards = response.json().get("cards")
    except ValueError:
        cards = None
    if not isinstance(cards, list):
        return CdsAnswer(200, problem="The CDS service's answer has no cards list.")
    return CdsAnswer(200, [c for c in cards if isinstance(c, dict)])


def send_feedback(runtime: SandboxRuntime, http: requests.Session, item: dict[str, Any]) -> int | None:
    """POST one feedback item to the service's feedback endpoint; the HTTP status (None: no answer)."""
    service = discover(runtime, http)
    if service is None:
        return None
    url = f"{runtime.settings.cds_services_url}/{service['id']}/feedback"
    item = {**item, "outcomeTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        response = http.post(
            url, json={"feedback": [item]}, headers=_auth(sign_call(runtime, url)), timeout=HOOK_TIMEOUT
        )
    except requests.RequestException:
        return None
    return response.status_code


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_markdown = MarkdownIt("commonmark", {"html": False})


def render_detail(text: Any) -> str:
    """A card's `detail` (GitHub-flavoured Markdown) as HTML: raw HTML is escaped and unsafe
    link schemes (javascript:, data: ...) are dropped by markdown-it's link validation."""
    return _markdown.render(text) if isinstance(text, str) else ""
