"""The callback's back channel: code for token, id_token validation, the launch context."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.errors import (
    AuthorizationDenied,
    AuthorizationFailed,
    IdTokenInvalid,
    NoPatientContext,
    NotThePatient,
    TokenExchangeFailed,
)
from fhir_rehab.launch.idtoken import JwksCache, has_kid, token_kid, validate_id_token
from fhir_rehab.launch.oauth import TOKEN_ERRORS, build_oauth_session, normalize_token
from fhir_rehab.launch.settings import LaunchSettings

log = logging.getLogger(__name__)

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


def raise_for_authorization_error(error: str) -> None:
    """Turn the server's `error=` (RFC 6749 4.1.2.1) into a page; its description is not shown.

    `error_description` is free text from the redirect: anyone can craft it, so it is neither
    displayed nor logged; the error code is logged only when it has the expected shape.
    """
    code = error if _ERROR_CODE.fullmatch(error) else "unrecognised"
    log.warning("authorization server answered error=%s", code)
    if code == "access_denied":
        raise AuthorizationDenied()
    raise AuthorizationFailed()


def exchange_code(
    pending: dict[str, Any], code: str, *, settings: LaunchSettings, clock: Callable[[], float]
) -> dict[str, Any]:
    """POST the code with the PKCE verifier to the token endpoint; the raw token response."""
    oauth = build_oauth_session(
        settings, clock=clock, redirect_uri=pending["redirect_uri"], pkce=bool(pending.get("verifier"))
    )
    try:
        kwargs: dict[str, Any] = {"code": code, "redirect_uri": pending["redirect_uri"]}
        if pending.get("verifier"):
            kwargs["code_verifier"] = pending["verifier"]
        response = oauth.fetch_token(pending["token_endpoint"], grant_type="authorization_code", **kwargs)
    except TOKEN_ERRORS as exc:
        log.warning("token exchange failed: %s", type(exc).__name__)
        raise TokenExchangeFailed() from None
    finally:
        oauth.close()
    try:
        normalize_token(dict(response), now=clock())  # a usable Bearer token, checked first
    except ValueError:
        log.warning("token exchange failed: unusable token response")
        raise TokenExchangeFailed() from None
    return dict(response)


def verify_id_token(
    response: dict[str, Any],
    pending: dict[str, Any],
    *,
    settings: LaunchSettings,
    jwks_cache: JwksCache,
    http: requests.Session,
    now: float,
) -> dict[str, Any] | None:
    """The validated id_token claims; None when openid was not granted and none was sent."""
    id_token = response.get("id_token")
    granted = str(response.get("scope") or pending["scope"]).split()
    if not id_token:
        if "openid" in granted:
            raise IdTokenInvalid()
        return None
    if not isinstance(id_token, str) or not pending.get("jwks_uri"):
        raise IdTokenInvalid()
    kid = token_kid(id_token)
    jwks: dict[str, Any] = {}
    for force in (False, True):
        jwks = jwks_cache.get(
            pending["jwks_uri"],
            now=now,
            ttl=settings.discovery_ttl,
            http=http,
            timeout=settings.http_timeout,
            force=force,
        )
        if has_kid(jwks, kid):
            break  # else the server may have rotated its keys since we cached them: refetch
    return validate_id_token(
        id_token,
        jwks,
        issuer=pending["issuer"],
        client_id=settings.client_id,
        nonce=pending["nonce"],
        now=now,
    )


def build_launch(
    response: dict[str, Any],
    pending: dict[str, Any],
    claims: dict[str, Any] | None,
    *,
    settings: LaunchSettings,
    now: float,
) -> tuple[LaunchContext, dict[str, Any]]:
    """The launch context and the token record the session keeps (SMART 2.x, token response)."""
    try:
        token = normalize_token(response, now=now)
    except ValueError:
        raise TokenExchangeFailed() from None
    token["token_endpoint"] = pending["token_endpoint"]
    token["revocation_endpoint"] = pending.get("revocation_endpoint")
    patient = _fhir_id(response.get("patient"))
    if pending.get("ehr_launch") and patient is None:
        # An EHR launch is always for a patient's chart: never fall back to the worklist.
        log.warning("launch refused: EHR launch with no patient in the token response")
        raise NoPatientContext()
    encounter = _fhir_id(response.get("encounter"))
    fhir_user = (claims or {}).get("fhirUser") or (claims or {}).get("profile")
    context = LaunchContext(
        iss=pending["iss"],
        patient_id=patient,
        encounter_id=encounter,
        fhir_user=fhir_user if isinstance(fhir_user, str) else None,
        scopes=tuple(str(response.get("scope") or pending["scope"]).split()),
        need_patient_banner=response.get("need_patient_banner") is not False,
        smart_style_url=_http_url(response.get("smart_style_url")),
        fhir_context=tuple(i for i in response.get("fhirContext") or [] if isinstance(i, dict)),
        intent=response["intent"] if isinstance(response.get("intent"), str) else None,
        client_id=settings.client_id,
        expires_at=token["expires_at"],
        role=str(pending.get("role") or "clinician"),
    )
    if context.role == "patient" and (not patient or context.fhir_user != f"Patient/{patient}"):
        # The patient pages are for the patient themselves: their fhirUser is the patient in context.
        raise NotThePatient()
    return context, token


def _fhir_id(value: Any) -> str | None:
    """A FHIR logical id, or None; anything else in `patient` means a broken server."""
    if value is None:
        return None
    if not isinstance(value, str) or not FHIR_ID.fullmatch(value):
        raise TokenExchangeFailed()
    return value


def _http_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in {"http", "https"} and parts.netloc else None
