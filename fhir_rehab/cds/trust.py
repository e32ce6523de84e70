"""Trusting CDS clients (CDS Hooks 2.0): verify the bearer JWT an EHR signs for each call.

The signature and claims are checked with joserfc (authlib's JOSE library); this module only
decides where a key may come from and which claims must hold. Every failure raises
CdsUnauthorized with a reason for the log; the client is told nothing but 401.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from fhir_rehab.cds.errors import CdsUnauthorized
from fhir_rehab.cds.settings import CdsSettings, TrustedClient
from fhir_rehab.cds.store import CdsStore
from fhir_rehab.launch.errors import LaunchError
from fhir_rehab.launch.idtoken import JwksCache, has_kid

# "Trusting CDS Clients" > "JWT Signing Algorithm": ES384 and RS384 are RECOMMENDED; `none`
# and every symmetric algorithm SHALL NOT be used. The service accepts only these two.
ALGORITHMS = ("RS384", "ES384")
CLOCK_SKEW_SECONDS = 60
MAX_JWT_BYTES = 16 * 1024
MAX_JTI_LENGTH = 256
KID_REFETCH_SECONDS = 60  # an unknown kid refetches a key set at most this often


@dataclass(frozen=True)
class CdsCaller:
    """A verified CDS client call: who signed it and its claims."""

    client: TrustedClient
    claims: dict[str, Any]

    @property
    def issuer(self) -> str:
        return self.client.iss


class ClientJwtVerifier:
    """Checks `Authorization: Bearer <JWT>` against the trusted clients, in this order:

    1. a compact JWS, header `alg` RS384 or ES384, `typ` JWT, a `kid`;
    2. the (still unverified) `iss` is a trusted client; the key set comes from that client's
       configuration only: `jku` when the header names one on its allowlist, else its `jwks`
       or `jwks_url` (a `jku` off the allowlist is refused, never fetched);
    3. the signature, with the key of that `kid`;
    4. `iss`, `aud` = the URL called, `exp` (not past, and at most `jwt_max_lifetime` ahead),
       `iat`, `jti`;
    5. the `jti` was never used before (recorded until `exp`, in the shared store).
    """

    def __init__(
        self,
        settings: CdsSettings,
        store: CdsStore,
        *,
        http: requests.Session,
        jwks_cache: JwksCache,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.store = store
        self.http = http
        self.jwks_cache = jwks_cache
        self.clock = clock
        self._forced: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, audience: str | None) -> CdsCaller:
        if audience is None:
            raise CdsUnauthorized("PUBLIC_URL is not set: no audience to check")
        token = _bearer(authorization)
        header, unverified = _peek(token)
        client = self.settings.trusted.get(unverified.get("iss"))  # type: ignore[arg-type]
        if client is None:
            raise CdsUnauthorized("unknown iss")
        keys = self._key_set(client, header)
        now = self.clock()
        try:
            decoded = jwt.decode(token, KeySet.import_key_set(keys), algorithms=list(ALGORITHMS))  # type: ignore[arg-type]
            jwt.JWTClaimsRegistry(
                now=int(now),
                leeway=CLOCK_SKEW_SECONDS,
                iss={"essential": True, "value": client.iss},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
                iat={"essential": True},
                jti={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise CdsUnauthorized(f"signature or claims: {type(error).__name__}") from None
        claims = decoded.claims
        exp, jti = claims["exp"], claims["jti"]
        if not isinstance(exp, int | float) or exp - now > self.settings.jwt_max_lifetime:
            raise CdsUnauthorized("exp too far ahead")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise CdsUnauthorized("bad jti")
        if not self.store.use_jti(client.iss, jti, float(exp) + CLOCK_SKEW_SECONDS):
            raise CdsUnauthorized("replayed jti")
        return CdsCaller(client, dict(claims))

    def _key_set(self, client: TrustedClient, header: dict[str, Any]) -> dict[str, Any]:
        jku = header.get("jku")
        if jku is not None:
            if jku not in client.jku:
                raise CdsUnauthorized("jku not on the allowlist")
            return self._fetch(jku, header["kid"])
        if client.jwks is not None:
            return client.jwks
        if client.jwks_url:
            return self._fetch(client.jwks_url, header["kid"])
        raise CdsUnauthorized("no key source for this issuer without jku")

    def _fetch(self, url: str, kid: str) -> dict[str, Any]:
        now = self.clock()
        settings = self.settings
        try:
            keys = self.jwks_cache.get(
                url, now=now, ttl=settings.jwks_ttl, http=self.http, timeout=settings.http_timeout
            )
            if not has_kid(keys, kid):
                with self._lock:
                    due = now - self._forced.get(url, 0.0) >= KID_REFETCH_SECONDS
                    if due:
                        self._forced[url] = now
                if due:
                    keys = self.jwks_cache.get(
                        url,
                        now=now,
                        ttl=settings.jwks_ttl,
                        http=self.http,
                        timeout=settings.http_timeout,
                        force=True,
                    )
        except LaunchError:
            raise CdsUnauthorized("key set unavailable") from None
        return keys


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise CdsUnauthorized("no bearer JWT")
    if len(token) > MAX_JWT_BYTES or token.count(".") != 2:
        raise CdsUnauthorized("not a compact JWS")
    return token


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload, unverified: only to pick the issuer and its key."""
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        header = dict(compact.headers())
        payload = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise CdsUnauthorized("unreadable JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise CdsUnauthorized("alg not allowed")
    if header.get("typ") != "JWT":
        raise CdsUnauthorized("typ is not JWT")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise CdsUnauthorized("no kid")
    if not isinstance(payload, dict) or not isinstance(payload.get("iss"), str):
        raise CdsUnauthorized("no iss")
    return header, payload
