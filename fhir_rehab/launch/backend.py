"""SMART Backend Services: the app's own system credential, per FHIR base, for ONE job.

A patient's positive self-check must put their program on hold on the EHR record, and the
patient's own token may never change the plan. So the app holds a separate client
registration per FHIR base (setting BACKEND_SERVICES) and uses it only for that hold: the
client_credentials grant (RFC 6749 4.4) with a private_key_jwt client assertion (RFC 7523,
RS384 or ES384, signed by authlib), as SMART App Launch 2.x "Backend Services" defines it.
Nothing else in the app ever gets this client. No credential for a base: the caller gets None
and fails closed (the hold stays in the app, and every page says the EHR record is not held).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from joserfc.jwk import ECKey, RSAKey

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.errors import LaunchError
from fhir_rehab.launch.oauth import TOKEN_ERRORS, Clock, ShortLivedPrivateKeyJWT, normalize_token
from fhir_rehab.launch.settings import normalize_iss

# What the hold writes, and nothing more: the CarePlan, its stage Tasks and exercise
# ServiceRequests on hold, its Goals read and put on hold, and the Provenance of that write.
BACKEND_HOLD_SCOPES = (
    "system/CarePlan.u",
    "system/Task.u",
    "system/ServiceRequest.u",
    "system/Goal.ru",
    "system/Provenance.c",
)
ALGORITHMS = ("RS384", "ES384")  # SMART Backend Services: the client supports one of these
REFRESH_BEFORE_SECONDS = 60


class BackendServiceFailed(LaunchError):
    """The app's backend credential could not get a token (or got less than it needs). Carries
    no detail from the answer (it may echo a secret)."""

    http_status = 502
    user_message = "The app could not sign in to the EHR as itself."


class BackendSettingsInvalid(LaunchError):
    """BACKEND_SERVICES is set but not usable: said at start-up, never at the first hold."""


@dataclass(frozen=True)
class BackendCredential:
    """One FHIR base's backend client: its id, the private key (PEM) and algorithm it signs
    with, and the token endpoint (default: the base's SMART configuration)."""

    fhir_base: str
    client_id: str
    private_key_path: str
    alg: str = "RS384"
    key_id: str | None = None
    token_endpoint: str | None = None


def backend_credentials(config: Mapping[str, Any]) -> dict[str, BackendCredential]:
    """BACKEND_SERVICES ({"<FHIR base>": {"client_id", "private_key_path", "alg", "key_id",
    "token_endpoint"}}) by normalized base; raises BackendSettingsInvalid when malformed.

    >>> backend_credentials({"BACKEND_SERVICES": {"http://EHR/fhir/": {
    ...     "client_id": "c", "private_key_path": "/k.pem", "alg": "ES384"}}})["http://ehr/fhir"].alg
    'ES384'
    >>> backend_credentials({})
    {}
    """
    raw = config.get("BACKEND_SERVICES") or {}
    if not isinstance(raw, Mapping):
        raise BackendSettingsInvalid("BACKEND_SERVICES must map FHIR base URLs to settings.")
    out = {}
    for base, entry in raw.items():
        if not isinstance(entry, Mapping) or not entry.get("client_id") or not entry.get("private_key_path"):
            raise BackendSettingsInvalid(f"BACKEND_SERVICES[{base!r}] needs client_id and private_key_path.")
        alg = str(entry.get("alg") or "RS384")
        if alg not in ALGORITHMS:
            raise BackendSettingsInvalid(f"BACKEND_SERVICES[{base!r}]: alg must be one of {ALGORITHMS}.")
        key = normalize_iss(str(base))
        out[key] = BackendCredential(
            key,
            str(entry["client_id"]),
            str(entry["private_key_path"]),
            alg,
            str(entry["key_id"]) if entry.get("key_id") else None,
            str(entry["token_endpoint"]) if entry.get("token_endpoint") else None,
        )
    return out


@functools.lru_cache(maxsize=8)
def load_signing_key(path: str, alg: str, key_id: str | None) -> RSAKey | ECKey:
    """The backend client's private key: RSA for RS384, EC P-384 for ES384."""
    parameters: Any = {"kid": key_id, "alg": alg, "use": "sig"} if key_id else None
    kind = RSAKey if alg == "RS384" else ECKey
    return kind.import_key(Path(path).read_bytes(), parameters=parameters)


class BackendTokens:
    """Access tokens of the backend clients in this process, reused until a minute before they
    expire (the client_credentials grant gives no refresh token: a new assertion each time)."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def token(
        self, credential: BackendCredential, token_endpoint: str, *, clock: Clock, timeout: float
    ) -> str:
        key = (credential.fhir_base, credential.client_id)
        with self._lock:
            held = self._tokens.get(key)
            if held and (held[1] is None or held[1] - REFRESH_BEFORE_SECONDS > clock()):
                return held[0]
            token, expires_at = fetch_backend_token(credential, token_endpoint, clock=clock, timeout=timeout)
            self._tokens[key] = (token, expires_at)
            return token

    def forget(self, credential: BackendCredential) -> None:
        with self._lock:
            self._tokens.pop((credential.fhir_base, credential.client_id), None)


def fetch_backend_token(
    credential: BackendCredential, token_endpoint: str, *, clock: Clock, timeout: float
) -> tuple[str, float | None]:
    """One client_credentials request, authenticated by a fresh private_key_jwt assertion
    (authlib signs it: `iss` = `sub` = client id, `aud` the token endpoint, a new `jti`, five
    minutes). Every scope of BACKEND_HOLD_SCOPES must be granted, or it counts as a failure."""
    try:
        key = load_signing_key(credential.private_key_path, credential.alg, credential.key_id)
    except (OSError, ValueError, TypeError) as exc:
        raise BackendServiceFailed(f"backend key unreadable: {type(exc).__name__}") from None
    session = OAuth2Session(
        credential.client_id,
        key,
        token_endpoint_auth_method=ShortLivedPrivateKeyJWT.name,
        default_timeout=timeout,
    )
    session.max_redirects = 0  # never re-send the assertion to another address
    session.register_client_auth_method(ShortLivedPrivateKeyJWT(credential.key_id, clock, alg=credential.alg))
    try:
        answer = session.fetch_token(
            token_endpoint, grant_type="client_credentials", scope=" ".join(BACKEND_HOLD_SCOPES)
        )
        token = normalize_token(dict(answer), now=clock())
    except TOKEN_ERRORS as exc:
        raise BackendServiceFailed(f"backend token refused: {type(exc).__name__}") from None
    finally:
        session.close()
    granted = set(str(answer.get("scope") or " ".join(BACKEND_HOLD_SCOPES)).split())
    if not set(BACKEND_HOLD_SCOPES) <= granted:
        raise BackendServiceFailed("backend token lacks the hold scopes")
    return str(token["access_token"]), token["expires_at"]


def backend_client(
    credential: BackendCredential,
    tokens: BackendTokens,
    token_endpoint: str,
    *,
    clock: Clock,
    timeout: float,
    fhir_timeout: float,
    session: Any = None,
) -> FhirClient:
    """A FHIR client on the credential's base that authenticates as the app itself. The first
    token is fetched now, so a refusal is known before anything is written."""
    tokens.token(credential, token_endpoint, clock=clock, timeout=timeout)

    def provider() -> str:
        return tokens.token(credential, token_endpoint, clock=clock, timeout=timeout)

    return FhirClient(credential.fhir_base, token_provider=provider, timeout=fhir_timeout, session=session)
