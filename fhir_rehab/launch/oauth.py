"""OAuth2 plumbing through authlib: the session, client authentication and token exchange."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import RSAKey

from fhir_rehab.launch.settings import LaunchSettings

CLIENT_ASSERTION_ALG = "RS384"  # SMART App Launch 2.x, "Asymmetric client authentication"
CLIENT_ASSERTION_LIFETIME = 300
_OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,40}")  # the spec caps exp at five minutes after iat

Clock = Callable[[], float]


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """authlib's private_key_jwt, signed RS384 (or ES384) with our `kid`, five minutes at most.

    authlib's default lifetime is an hour; SMART requires `exp` no more than 5 minutes out.
    A fresh `jti` comes from `private_key_jwt_sign` on every call.
    """

    name = "private_key_jwt"
    alg = CLIENT_ASSERTION_ALG

    def __init__(self, key_id: str | None, clock: Clock, *, alg: str = CLIENT_ASSERTION_ALG) -> None:
        super().__init__(headers={"kid": key_id} if key_id else {}, alg=alg)
        self.alg = alg  # RS384, or ES384 for an EC key (SMART: the client supports one of them)
        self.clock = clock

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            header=dict(self.headers or {}),
            issued_at=int(self.clock()),
            expires_in=CLIENT_ASSERTION_LIFETIME,
        )


@functools.lru_cache(maxsize=8)
def load_client_key(path: str, key_id: str | None) -> RSAKey:
    """The app's RSA private key (PEM) for private_key_jwt."""
    parameters: Any = {"kid": key_id, "alg": CLIENT_ASSERTION_ALG, "use": "sig"} if key_id else None
    return RSAKey.import_key(Path(path).read_bytes(), parameters=parameters)


def public_jwks(settings: LaunchSettings) -> dict[str, Any] | None:
    """The public JWKS the authorization server fetches, or None when no key is configured."""
    if not settings.private_key_path:
        return None
    key = load_client_key(settings.private_key_path, settings.key_id)
    public = key.as_dict(private=False)
    public.update({"alg": CLIENT_ASSERTION_ALG, "use": "sig"})
    if settings.key_id:
        public["kid"] = settings.key_id
    return {"keys": [public]}


def build_oauth_session(
    settings: LaunchSettings, *, clock: Clock, redirect_uri: str | None = None, pkce: bool = True
) -> OAuth2Session:
    """An authlib session for this client: public, client_secret_basic or private_key_jwt."""
    kwargs: dict[str, Any] = {"redirect_uri": redirect_uri, "default_timeout": settings.http_timeout}
    if pkce:
        kwargs["code_challenge_method"] = "S256"
    if settings.private_key_path:
        secret: Any = load_client_key(settings.private_key_path, settings.key_id)
        auth_method = ShortLivedPrivateKeyJWT.name
    elif settings.client_secret:
        secret, auth_method = settings.client_secret, "client_secret_basic"
    else:
        secret, auth_method = None, "none"  # a public client sends only its client_id
    session = OAuth2Session(settings.client_id, secret, token_endpoint_auth_method=auth_method, **kwargs)
    # Never follow a redirect from the token endpoint: a 307 would re-send the code, the
    # PKCE verifier and the client's credentials to the other address (TooManyRedirects).
    session.max_redirects = 0
    if settings.private_key_path:
        session.register_client_auth_method(ShortLivedPrivateKeyJWT(settings.key_id, clock))
    return session


def new_secret() -> str:
    """A URL-safe random value of ~256 bits, for `state`, `nonce` and the PKCE verifier."""
    return generate_token(43)  # 43 chars of [A-Za-z0-9]: log2(62) * 43 > 256 bits


def normalize_token(
    response: dict[str, Any], *, now: float, previous_refresh_token: str | None = None
) -> dict[str, Any]:
    """The token fields the session keeps, with `expires_at` on our own clock.

    >>> t = normalize_token({"access_token": "a", "token_type": "Bearer", "expires_in": 300},
    ...                     now=1000, previous_refresh_token="r")
    >>> t["expires_at"], t["refresh_token"]
    (1300, 'r')
    """
    access = response.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("no access_token")
    if str(response.get("token_type", "")).lower() != "bearer":
        raise ValueError("token_type is not Bearer")
    expires_in = response.get("expires_in")
    try:
        expires_at: int | None = int(now) + int(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        expires_at = None
    return {
        "access_token": access,
        "refresh_token": response.get("refresh_token") or previous_refresh_token,
        "expires_at": expires_at,
    }


def refresh_access_token(
    settings: LaunchSettings, token_endpoint: str, refresh_token: str, *, clock: Clock
) -> dict[str, Any]:
    """Use the refresh token once (RFC 6749 section 6); raises on any failure."""
    session = build_oauth_session(settings, clock=clock, pkce=False)
    try:
        response = session.refresh_token(token_endpoint, refresh_token=refresh_token)
    finally:
        session.close()
    return normalize_token(dict(response), now=clock(), previous_refresh_token=refresh_token)


def revoke_tokens(settings: LaunchSettings, endpoint: str, token: dict[str, Any], *, clock: Clock) -> bool:
    """Revoke the refresh token, then the access token (RFC 7009); True when both that were
    held were accepted. Failures are swallowed: signing out must work when the server does not."""
    session = build_oauth_session(settings, clock=clock, pkce=False)
    accepted = True
    try:
        for hint in ("refresh_token", "access_token"):
            value = token.get(hint)
            if not value:
                continue
            try:
                answer = session.revoke_token(endpoint, value, token_type_hint=hint)
                accepted = accepted and answer.status_code == 200
            except TOKEN_ERRORS:
                accepted = False
    finally:
        session.close()
    return accepted


def describe_token_error(exc: Exception) -> str:
    """The OAuth error code (invalid_grant, invalid_client, ...) when the server sent one in
    the expected shape, else the kind of failure; never the description (free text).

    >>> from authlib.integrations.base_client import OAuthError
    >>> describe_token_error(OAuthError(error="invalid_grant", description="code expired"))
    'invalid_grant'
    >>> describe_token_error(ValueError("x"))
    'ValueError'
    """
    error = getattr(exc, "error", None)
    if isinstance(error, str) and _OAUTH_ERROR_CODE.fullmatch(error):
        return error
    return type(exc).__name__


# Everything a token request can raise: transport, HTTP status, OAuth `error`, bad JSON.
TOKEN_ERRORS: tuple[type[Exception], ...] = (
    requests.RequestException,
    OAuthError,
    ValueError,
    KeyError,
    TypeError,
)
