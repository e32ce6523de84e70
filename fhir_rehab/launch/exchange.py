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
from fhir_rehab.launch.oauth import TOKEN_ERRORS, build_oauth_session, describe_token_error, normalize_token
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
        log.warning("token exchange failed: %s", describe_token_error(exc))
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
        leeway=settings.id_token_leeway,
        issuer_listed=pending.get("issuer_listed", True),
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
    identity = claims or {}
    fhir_user = resolve_fhir_user(identity.get("fhirUser") or identity.get("profile"), pending["iss"])
    context = LaunchContext(
        iss=pending["iss"],
        patient_id=patient,
        encounter_id=encounter,
        fhir_user=fhir_user,
        user_name=_user_name(identity),
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


# SMART App Launch 2.x, "fhirUser": a Practitioner, PractitionerRole, Patient or RelatedPerson.
_USER_REFERENCE = re.compile(r"(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}")


def resolve_fhir_user(value: Any, iss: str) -> str | None:
    """`fhirUser` as a relative reference when it lies on the launch's FHIR base (absolute or
    relative in the claim); an absolute URL elsewhere is kept; anything else is None.

    >>> resolve_fhir_user("https://ehr/fhir/Practitioner/pr1", "https://ehr/fhir")
    'Practitioner/pr1'
    >>> resolve_fhir_user("Practitioner/pr1", "https://ehr/fhir")
    'Practitioner/pr1'
    >>> resolve_fhir_user("https://ehr/fhir/../Practitioner/x", "https://ehr/fhir") is None
    True
    """
    if not isinstance(value, str):
        return None
    relative = value[len(iss) + 1 :] if value.startswith(iss.rstrip("/") + "/") else value
    if _USER_REFERENCE.fullmatch(relative):
        return relative
    parts = urlsplit(value)
    tail = "/".join(parts.path.rstrip("/").split("/")[-2:])
    if parts.scheme == "https" and parts.netloc and _USER_REFERENCE.fullmatch(tail) and ".." not in value:
        return value  # on another server: kept as the claim says, never read
    return None


def _user_name(claims: dict[str, Any]) -> str | None:
    """The OpenID `name` claim (or given + family), short and printable, for display only."""
    name = claims.get("name")
    if not isinstance(name, str):
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str))
    name = " ".join(name.split())[:120] if isinstance(name, str) else ""
    return name if name and name.isprintable() else None


def userinfo_claims(
    pending: dict[str, Any],
    response: dict[str, Any],
    claims: dict[str, Any],
    *,
    http: requests.Session,
    timeout: float,
) -> dict[str, Any]:
    """The UserInfo claims (OpenID Connect Core 1.0, 5.3), for a server that puts `fhirUser`
    there rather than in the id_token; {} when it offers none or answers otherwise. The
    endpoint is the SMART configuration's, else the OpenID configuration's of the issuer."""
    endpoint = pending.get("userinfo_endpoint") or _openid_userinfo_endpoint(
        str(pending["issuer"]), http=http, timeout=timeout
    )
    if not endpoint:
        return {}
    try:
        resp = http.get(
            endpoint,
            headers={"Authorization": f"Bearer {response['access_token']}", "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
        data = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        data = None
    if not isinstance(data, dict):
        log.warning("userinfo: no usable answer")
        return {}
    if data.get("sub") != claims.get("sub"):  # 5.3.2: must be the id_token's user
        log.warning("userinfo refused: sub does not match the id_token's")
        return {}
    return data


def _openid_userinfo_endpoint(issuer: str, *, http: requests.Session, timeout: float) -> str | None:
    try:
        resp = http.get(
            issuer.rstrip("/") + "/.well-known/openid-configuration",
            headers={"Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
        document = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    endpoint = document.get("userinfo_endpoint") if isinstance(document, dict) else None
    if not isinstance(endpoint, str) or _http_url(endpoint) is None:
        return None
    if urlsplit(issuer).scheme == "https" and urlsplit(endpoint).scheme != "https":
        return None
    return endpoint
