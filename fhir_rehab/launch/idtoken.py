"""id_token validation: signature with joserfc against the server's JWKS, claims with authlib."""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.oidc.core import CodeIDToken
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from fhir_rehab.launch.errors import IdTokenInvalid

# Asymmetric algorithms only: an HS* id_token would be signed with our own client secret.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384")
CLOCK_SKEW_SECONDS = 300  # the default of the ID_TOKEN_LEEWAY_SECONDS setting
CLAIM_REASONS = {
    "iss": "issuer mismatch",
    "aud": "audience mismatch (not our client_id)",
    "nonce": "nonce mismatch (not this launch's)",
    "azp": "authorized party mismatch",
}
log = logging.getLogger(__name__)


class JwksCache:
    """Key sets per `jwks_uri`, kept `ttl` seconds and refetched once when a `kid` is new."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(
        self,
        jwks_uri: str,
        *,
        now: float,
        ttl: float,
        http: requests.Session,
        timeout: float,
        force: bool = False,
    ) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(jwks_uri)
        if entry is not None and not force and now - entry[0] < ttl:
            return entry[1]
        document = fetch_jwks(jwks_uri, http=http, timeout=timeout)
        with self._lock:
            self._entries[jwks_uri] = (now, document)
        return document


def fetch_jwks(jwks_uri: str, *, http: requests.Session, timeout: float) -> dict[str, Any]:
    """GET the server's public keys."""
    try:
        resp = http.get(
            jwks_uri, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False
        )
        document = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise IdTokenInvalid()
    return document


def token_kid(id_token: str) -> str | None:
    """The `kid` of a compact JWS header, unverified (only to pick a key)."""
    try:
        header = jws.extract_compact(id_token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def has_kid(jwks: dict[str, Any], kid: str | None) -> bool:
    """True when the key set holds `kid` (or the token names no kid).

    >>> has_kid({"keys": [{"kid": "a"}]}, "a"), has_kid({"keys": []}, "b")
    (True, False)
    """
    return kid is None or any(k.get("kid") == kid for k in jwks.get("keys") or [] if isinstance(k, dict))


def refusal_reason(exc: Exception) -> str:
    """What was wrong with an id_token, for the log (an operator must tell causes apart).

    >>> from joserfc.errors import InvalidClaimError, MissingClaimError
    >>> refusal_reason(InvalidClaimError("iss")), refusal_reason(MissingClaimError("nonce"))
    ('issuer mismatch', 'missing claim nonce')
    """
    error = getattr(exc, "error", "")
    claim = str(getattr(exc, "claim", None) or getattr(exc, "claim_name", None) or _quoted(exc))
    if isinstance(exc, BadSignatureError):
        return "bad signature (no key of the server's JWKS verifies it)"
    if error == "missing_claim":
        return f"missing claim {claim}"
    if error == "invalid_claim" and claim in ("iat", "nbf"):
        return "not valid yet: issued in the future beyond the clock leeway (clock skew?)"
    if error == "invalid_claim":
        return CLAIM_REASONS.get(claim, f"invalid claim {claim}")
    if error == "expired_token":
        return "expired (exp is past, beyond the clock leeway)"
    if error == "invalid_token":
        return "not valid yet: issued in the future beyond the clock leeway (clock skew?)"
    if isinstance(exc, JoseError):
        return f"undecodable or unsupported ({type(exc).__name__})"
    return f"malformed ({type(exc).__name__})"


def _quoted(exc: Exception) -> str:
    """The claim named in quotes in an error's description ('iss'), or '?'."""
    parts = str(getattr(exc, "description", "")).split("'")
    return parts[1] if len(parts) >= 3 else "?"


def validate_id_token(
    id_token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float,
    leeway: int = CLOCK_SKEW_SECONDS,
    issuer_listed: bool = True,
) -> dict[str, Any]:
    """Verify the signature and the OIDC claims (iss, aud, exp, iat, nonce, azp); the claims.

    OpenID Connect Core 1.0, 3.1.3.7 "ID Token Validation". `leeway` is the clock skew allowed
    on iat/exp/nbf. Each refusal logs its own reason.
    """
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
            },
            params={"nonce": nonce, "client_id": client_id},
        )
        claims.validate(now=int(now), leeway=leeway)
    except (JoseError, AuthlibBaseError, ValueError, KeyError, TypeError) as exc:
        reason = refusal_reason(exc)
        if reason == "issuer mismatch" and not issuer_listed:
            reason += " (the SMART configuration lists no issuer, so the FHIR base was expected)"
        log.warning("id_token refused: %s", reason)
        raise IdTokenInvalid() from None
    return dict(claims)
