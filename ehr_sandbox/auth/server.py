"""Wires the authlib AuthorizationServer and ResourceProtector to the sandbox store and settings."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from flask import Flask, current_app

from ehr_sandbox.auth.grants import (
    PrivateKeyJwt,
    S256CodeChallenge,
    SandboxClientCredentials,
    SandboxCodeGrant,
    SandboxOpenIDCode,
    SandboxRefreshGrant,
    SmartLaunch,
    TokenContext,
)
from ehr_sandbox.auth.models import AccessToken, LaunchContext, RefreshGrant, SandboxUser
from ehr_sandbox.auth.revocation import SandboxRevocation
from ehr_sandbox.auth.scopes import split_scopes, wants_refresh_token
from ehr_sandbox.auth.store import SandboxStore
from ehr_sandbox.auth.users import PATIENT_USER_PREFIX, USERS, ensure_practitioner, find_user
from ehr_sandbox.faults import Fault
from ehr_sandbox.settings import SandboxSettings
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirNotFound

EXTENSION = "fhir_rehab_sandbox"


class SandboxAuthorizationServer(AuthorizationServer):
    """authlib's Flask AuthorizationServer holding the store the grants read and write."""

    def __init__(self, settings: SandboxSettings, store: SandboxStore) -> None:
        super().__init__(query_client=store.get_client, save_token=self.save_sandbox_token)
        self.settings = settings
        self.store = store

    def create_bearer_token_generator(self, config: Any) -> Any:
        """Opaque bearer tokens; a refresh token only for offline_access or online_access."""
        bearer = BearerTokenGenerator(
            lambda **_: generate_token(42),
            lambda **_: generate_token(48),
            lambda client, grant_type: self.settings.access_token_lifetime,
        )

        def generate(
            grant_type: str,
            client: Any,
            user: Any = None,
            scope: str | None = None,
            expires_in: int | None = None,
            include_refresh_token: bool = True,
        ) -> Any:
            include = include_refresh_token and wants_refresh_token(split_scopes(scope))
            return bearer.generate(grant_type, client, user, scope, expires_in, include)

        return generate

    def save_sandbox_token(self, token: dict[str, Any], request: Any) -> None:
        source = request.authorization_code or request.refresh_token
        now = time.time()
        expires_at = now + float(token.get("expires_in") or 0)
        client_id = request.client.get_client_id()
        if source is None:  # client_credentials: a backend service acting as itself
            self.store.save_access_token(
                AccessToken(
                    access_token=token["access_token"],
                    client_id=client_id,
                    scope=token["scope"],
                    user=SandboxUser(None, f"Backend service {client_id}"),
                    context=LaunchContext(),
                    expires_at=expires_at,
                    issued_at=now,
                )
            )
            return
        # request_expired_token: the first token is born expired; a refreshed one works.
        if source.context.fault is Fault.REQUEST_EXPIRED_TOKEN and request.authorization_code:
            expires_at = now - 1
        self.store.save_access_token(
            AccessToken(
                access_token=token["access_token"],
                client_id=client_id,
                scope=token["scope"],
                user=request.user,
                context=source.context,
                expires_at=expires_at,
                issued_at=now,
                code=source.code,
            )
        )
        if token.get("refresh_token"):
            self.store.save_refresh_grant(
                RefreshGrant(
                    refresh_token=token["refresh_token"],
                    client_id=client_id,
                    scope=token["scope"],
                    user=request.user,
                    context=source.context,
                    code=source.code,
                )
            )


class SandboxBearerValidator(BearerTokenValidator):
    """Looks bearer tokens up in the store; authlib checks expiry and revocation."""

    def __init__(self, store: SandboxStore) -> None:
        super().__init__(realm="fhir-rehab-sandbox")
        self.store = store

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.store.get_access_token(token_string)


@dataclass
class SandboxRuntime:
    """Everything one sandbox app serves from: settings, store, authorization and resources."""

    settings: SandboxSettings
    store: SandboxStore
    authorization: SandboxAuthorizationServer
    resources: ResourceProtector
    _users: dict[str, SandboxUser] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: SandboxSettings) -> SandboxRuntime:
        store = SandboxStore(settings.clients)
        server = SandboxAuthorizationServer(settings, store)
        context = TokenContext(f"{settings.public_url}/auth/smart-style.json")
        server.register_grant(
            SandboxCodeGrant,
            [
                S256CodeChallenge(required=True),
                SmartLaunch(settings.fhir_base, store),
                SandboxOpenIDCode(settings, store),
                context,
            ],
        )
        server.register_grant(SandboxRefreshGrant, [context])
        server.register_grant(SandboxClientCredentials)
        server.register_endpoint(SandboxRevocation)
        resources = ResourceProtector()
        resources.register_token_validator(SandboxBearerValidator(store))
        runtime = cls(settings, store, server, resources)
        server.register_client_auth_method(
            "private_key_jwt", PrivateKeyJwt(runtime.token_url, store, settings.timeout)
        )
        return runtime

    def init_app(self, app: Flask) -> None:
        self.authorization.init_app(app)
        app.extensions[EXTENSION] = self

    # -- URLs ----------------------------------------------------------------------------
    @property
    def authorize_url(self) -> str:
        return f"{self.settings.public_url}/auth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.settings.public_url}/auth/token"

    @property
    def revocation_url(self) -> str:
        return f"{self.settings.public_url}/auth/revoke"

    @property
    def jwks_url(self) -> str:
        return f"{self.settings.public_url}/auth/jwks"

    # -- the backing FHIR server and the EHR user ----------------------------------------
    def backing_client(self) -> FhirClient:
        return FhirClient(
            self.settings.backing_fhir_base, timeout=self.settings.timeout, max_retries=1, backoff=0.1
        )

    def current_user(self, key: str | None = None) -> SandboxUser:
        """A sandbox practitioner (the default one unless `key` picks another), created in the
        backing server on first use and reused."""
        if key and key.startswith(PATIENT_USER_PREFIX):
            return self.patient_user(key[len(PATIENT_USER_PREFIX) :])
        spec = find_user(key)
        with self._lock:
            if spec.key not in self._users:
                self._users[spec.key] = SandboxUser(
                    ensure_practitioner(self.backing_client(), spec.key), spec.name
                )
            return self._users[spec.key]

    def patient_user(self, patient_id: str) -> SandboxUser:
        """A patient signed in at the portal (their Patient must exist in the backing server)."""
        try:
            patient = self.backing_client().read("Patient", patient_id)
        except FhirNotFound:
            return self.current_user()
        names = patient.get("name") or [{}]
        name = names[0].get("text") or " ".join([*names[0].get("given", []), names[0].get("family", "")])
        return SandboxUser(None, name.strip() or "Patient", patient_id=str(patient.get("id") or patient_id))

    def all_users(self) -> list[SandboxUser]:
        """Every sandbox user, so each exists in the backing server."""
        return [self.current_user(spec.key) for spec in USERS]


def current_runtime() -> SandboxRuntime:
    """The runtime of the sandbox app handling the current request."""
    return current_app.extensions[EXTENSION]
