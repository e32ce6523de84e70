"""id_token validation: signature with joserfc against the server's JWKS, claims with authlib."""

from __future__ import annotations

import threading
from typing import Any

import requests
from authlib.oidc.core import CodeIDToken
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from fhir_rehab.launch.errors import IdTokenInvalid

# Asymmetric algorithms only: an HS* id_token would be signed with our own client secret.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384")
CLOCK_SKEW_SECONDS = 60


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


def validate_id_token(
    id_token: str, jwks: dict[str, Any], *, issuer: str, client_id: str, nonce: str, now: float
) -> dict[str, Any]:
    """Verify the signature and the OIDC claims (iss, aud, exp, iat, nonce, azp); the claims.

    OpenID Connect Core 1.0, 3.1.3.7 "ID Token Validation".
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
        claims.validate(now=int(now), leeway=CLOCK_SKEW_SECONDS)
    except (JoseError, ValueError, KeyError, TypeError):
        raise IdTokenInvalid() from None
    return dict(claims)
