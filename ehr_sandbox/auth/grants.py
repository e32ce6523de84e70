"""authlib grants and extensions with the SMART rules: PKCE S256, aud, launch, faults, id_token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ehr_sandbox.auth.models import AuthorizationCode, LaunchContext, RefreshGrant
from ehr_sandbox.auth.scopes import split_scopes
from ehr_sandbox.faults import Fault

if TYPE_CHECKING:
    from ehr_sandbox.auth.store import SandboxStore
    from ehr_sandbox.settings import SandboxSettings

# Token endpoint client authentication, most specific first; "none" is the public client.
TOKEN_AUTH_METHODS = ["client_secret_basic", "private_key_jwt", "none"]


class SandboxCodeGrant(AuthorizationCodeGrant):
    """Authorization code grant whose codes carry the SMART launch context (single use)."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    smart_launch: Any = None  # set by SmartLaunch while validating the request
    selected_patient_id: str | None = None  # a standalone launch's patient, set by the view

    @property
    def store(self) -> SandboxStore:
        return self.server.store

    def launch_context(self) -> LaunchContext:
        """The EHR launch's context, or a standalone one (a patient only for launch/patient)."""
        if self.smart_launch is not None:
            return self.smart_launch.context
        if "launch/patient" in split_scopes(self.request.scope):
            return LaunchContext(patient_id=self.selected_patient_id)
        return LaunchContext()

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        withheld = set(request.client.registration.withheld_scopes)
        granted = " ".join(s for s in split_scopes(request.scope) if s not in withheld)
        self.store.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=granted,
                user=request.user,
                context=self.launch_context(),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                nonce=data.get("nonce"),
            )
        )

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        # Taken (marked used) here, atomically: a replay finds nothing -> invalid_grant.
        return self.store.take_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing left to do: `query_authorization_code` already used the code up."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Any:
        return authorization_code.user


class SandboxRefreshGrant(RefreshTokenGrant):
    """Refresh grant; refresh tokens do not rotate, so concurrent refreshes cannot race."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = False

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshGrant | None:
        record = self.server.store.get_refresh_grant(refresh_token)
        if record is not None and record.context.fault is Fault.TOKEN_EXPIRED_REFRESH_TOKEN:
            raise InvalidGrantError("The refresh token has expired (simulated fault).")
        return record

    def authenticate_user(self, refresh_token: RefreshGrant) -> Any:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: RefreshGrant) -> None:
        """Refresh tokens stay valid: nothing to revoke."""


class SandboxClientCredentials(ClientCredentialsGrant):
    """SMART Backend Services (client_credentials, RFC 6749 4.4) as SMART App Launch 2.x
    "Backend Services" asks: the client authenticates with a private_key_jwt assertion (RS384
    or ES384, checked by PrivateKeyJwt) and gets `system/` scopes only, no refresh token, no
    user and no patient context."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        requested = split_scopes(self.request.payload.scope)
        if not requested or not all(s.startswith("system/") for s in requested):
            raise InvalidScopeError("Backend services ask for system/ scopes, and only those.")
        if self.request.client.get_allowed_scope(" ".join(requested)) is None:
            raise InvalidScopeError("The client is not registered for these scopes.")


class S256CodeChallenge(CodeChallenge):
    """PKCE required for every client, S256 only (SMART App Launch 2.0: "plain" is refused)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE 'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class SmartLaunch:
    """Grant extension: `aud` must be our FHIR base, `launch` must be ours; token faults."""

    def __init__(self, fhir_base: str, store: SandboxStore) -> None:
        self.fhir_base = fhir_base.rstrip("/")
        self.store = store

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)
        grant.register_hook("after_validate_token_request", self.apply_token_fault)

    def validate(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if (data.get("aud") or "").rstrip("/") != self.fhir_base:
            raise InvalidRequestError("'aud' must be the FHIR base URL of this server.")
        launch_id = data.get("launch")
        grant.smart_launch = self.store.get_launch(launch_id) if launch_id else None
        if launch_id and grant.smart_launch is None:
            raise InvalidRequestError("Unknown or expired 'launch'.")
        if not launch_id and "launch" in split_scopes(grant.request.scope):
            raise InvalidRequestError("The 'launch' scope needs the 'launch' of an EHR launch.")

    @staticmethod
    def apply_token_fault(grant: Any, result: Any) -> None:
        code = grant.request.authorization_code
        if code is not None and code.context.fault is Fault.TOKEN_INVALID_TOKEN:
            raise InvalidGrantError("The authorization code is invalid (simulated fault).")


class TokenContext:
    """Grant extension: the SMART launch context beside the access token (App Launch 2.0 5.5)."""

    def __init__(self, style_url: str) -> None:
        self.style_url = style_url

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.add_context)

    def add_context(self, grant: Any, result: Any) -> None:
        _, token, _ = result
        source = grant.request.authorization_code or grant.request.refresh_token
        context: LaunchContext = source.context
        if context.patient_id:
            token["patient"] = context.patient_id
        if context.encounter_id:
            token["encounter"] = context.encounter_id
        if context.intent:
            token["intent"] = context.intent
        token["need_patient_banner"] = True
        token["smart_style_url"] = self.style_url
        token["fhirContext"] = [dict(item) for item in context.fhir_context]


class SandboxOpenIDCode(OpenIDCode):
    """OpenID Connect for the code grant: an RS256 id_token with the SMART `fhirUser` claim."""

    def __init__(self, settings: SandboxSettings, store: SandboxStore) -> None:
        super().__init__(require_nonce=False)
        self.settings = settings
        self.store = store

    def resolve_client_private_key(self, client: Any) -> Any:
        return self.settings.key

    def get_client_algorithm(self, client: Any) -> str:
        return "RS256"

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": "RS256", "typ": "JWT", "kid": str(self.settings.key.kid)}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        return {"iss": self.settings.fhir_base, "aud": client.get_client_id()}

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self.store.nonce_seen(request.payload.client_id, nonce)

    def generate_user_info(self, user: Any, scope: str) -> UserInfo:
        info = UserInfo(sub=user.get_user_id())
        if user.fhir_user:
            info["fhirUser"] = user.fhir_user
        if "profile" in split_scopes(scope):
            info["name"] = user.name
        return info


class PrivateKeyJwt(JWTBearerClientAssertion):
    """`private_key_jwt` client authentication (RFC 7523) as SMART asks: RS384 or ES384."""

    CLIENT_AUTH_METHOD = "private_key_jwt"
    ALGORITHMS = ["RS384", "ES384"]

    def __init__(self, token_url: str, store: SandboxStore, timeout: float) -> None:
        super().__init__(validate_jti=True, leeway=60)
        self.audience = token_url
        self.store = store
        self.timeout = timeout

    def get_audiences(self) -> list[str]:
        return [self.audience]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        return self.store.use_jti(str(claims["sub"]), str(jti), float(claims.get("exp") or 0))

    def resolve_client_public_key(self, client: Any) -> KeySet:
        registration = client.registration
        jwks = registration.jwks or fetch_jwks(registration.jwks_uri, self.timeout)
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidClientError(description="The client's JWKS is not usable.") from None

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        # joserfc's default registry leaves RS384/ES384 out; SMART requires them, so name them.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=self.ALGORITHMS)
        except JoseError:
            raise InvalidClientError(description="The client assertion is invalid.") from None
        self.verify_claims(token.claims)
        return token.claims


def fetch_jwks(url: str | None, timeout: float) -> dict[str, Any]:
    """The client's public JWK Set from its registered JWKS URL."""
    if not url:
        raise InvalidClientError(description="The client has no JWKS.")
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError):
        raise InvalidClientError(description="The client's JWKS URL could not be read.") from None
    if not isinstance(data, dict):
        raise InvalidClientError(description="The client's JWKS is not a JWK Set.")
    return data
