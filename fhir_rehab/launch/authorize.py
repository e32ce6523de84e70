"""The authorization request: PKCE S256, state and nonce bound to the server-side session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_rehab.launch.discovery import SmartConfiguration
from fhir_rehab.launch.errors import InsecureServer, StateMismatch
from fhir_rehab.launch.oauth import build_oauth_session, new_secret
from fhir_rehab.launch.scopes import Role, build_scopes, supports_v2
from fhir_rehab.launch.settings import LaunchSettings

PENDING_MAX_AGE_SECONDS = 600  # an authorization left unfinished this long is void
PENDING_MAX_COUNT = 5  # launches in flight per browser session (tabs), newest kept


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what to remember under `state` until the callback."""

    url: str
    state: str
    pending: dict[str, Any]


def begin_authorization(
    config: SmartConfiguration,
    settings: LaunchSettings,
    *,
    launch: str | None,
    role: Role,
    redirect_uri: str,
    now: float,
) -> AuthorizationRequest:
    """Build the authorization URL (SMART App Launch 2.x, "Obtain authorization code")."""
    pkce = config.supports_s256
    if not pkce and settings.require_pkce_s256:
        raise InsecureServer()
    scopes = build_scopes(role, ehr_launch=launch is not None, permission_v2=supports_v2(config.capabilities))
    state, nonce = new_secret(), new_secret()
    verifier = new_secret() + new_secret()  # 86 chars: within RFC 7636's 43..128
    oauth = build_oauth_session(settings, clock=lambda: now, redirect_uri=redirect_uri, pkce=pkce)
    extra: dict[str, str] = {}
    if settings.prompt_consent and {"openid", "offline_access"} <= set(scopes):
        # OpenID Connect Core 1.0, 11: an OpenID provider issues a refresh token for
        # offline_access only after prompt=consent (SMART servers do not need it).
        extra["prompt"] = "consent"
    try:
        url, _ = oauth.create_authorization_url(
            config.authorization_endpoint,
            state=state,
            code_verifier=verifier if pkce else None,
            scope=" ".join(scopes),
            aud=config.iss,
            launch=launch,
            nonce=nonce,
            **extra,
        )
    finally:
        oauth.close()
    pending = {
        "iss": config.iss,
        "token_endpoint": config.token_endpoint,
        "revocation_endpoint": config.revocation_endpoint,
        "ehr_launch": launch is not None,
        "userinfo_endpoint": config.userinfo_endpoint,
        "jwks_uri": config.jwks_uri,
        "issuer": config.issuer or config.iss,
        "issuer_listed": config.issuer is not None,
        "verifier": verifier if pkce else None,
        "nonce": nonce,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "role": role,
        "created_at": int(now),
    }
    return AuthorizationRequest(url=url, state=state, pending=pending)


def remember_pending(
    pending_by_state: Mapping[str, Any] | None, state: str, entry: dict[str, Any], *, now: float
) -> dict[str, Any]:
    """The session's in-flight authorizations plus this one, pruned of stale and excess ones.

    >>> kept = remember_pending({"old": {"created_at": 0}}, "new", {"created_at": 900}, now=900)
    >>> list(kept)
    ['new']
    """
    live = {
        s: e
        for s, e in (pending_by_state or {}).items()
        if isinstance(e, dict) and now - e.get("created_at", 0) < PENDING_MAX_AGE_SECONDS
    }
    live[state] = entry
    newest = sorted(live.items(), key=lambda item: item[1].get("created_at", 0))
    return dict(newest[-PENDING_MAX_COUNT:])


def take_pending(
    pending_by_state: Mapping[str, Any] | None, state: str | None, *, now: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Remove and return the entry for `state` (single use), and what is left.

    Raises StateMismatch for a missing, unknown, already used or expired `state`.

    >>> entry, left = take_pending({"s1": {"created_at": 10}}, "s1", now=20)
    >>> entry, left
    ({'created_at': 10}, {})
    """
    remaining = dict(pending_by_state or {})
    entry = remaining.pop(state, None) if state else None
    if not isinstance(entry, dict):
        raise StateMismatch()
    if now - entry.get("created_at", 0) >= PENDING_MAX_AGE_SECONDS:
        raise StateMismatch()
    return entry, remaining
