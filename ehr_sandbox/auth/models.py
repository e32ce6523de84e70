"""Records of the sandbox authorization server: clients, launches, codes and tokens (authlib mixins)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from ehr_sandbox.auth.scopes import is_covered, is_known_scope, split_scopes
from ehr_sandbox.faults import Fault

if TYPE_CHECKING:
    from ehr_sandbox.settings import ClientRegistration

CODE_LIFETIME_SECONDS = 600  # RFC 6749 4.1.2: "A maximum ... lifetime of 10 minutes is RECOMMENDED"


@dataclass(frozen=True)
class SandboxUser:
    """An EHR user of the sandbox: a Practitioner in the backing FHIR server, or a patient
    signed in at the patient portal."""

    practitioner_id: str | None
    name: str = "Sandbox Practitioner"
    patient_id: str | None = None  # a patient signed in at the portal: fhirUser Patient/<id>

    @property
    def fhir_user(self) -> str | None:
        if self.patient_id:
            return f"Patient/{self.patient_id}"
        return f"Practitioner/{self.practitioner_id}" if self.practitioner_id else None

    @property
    def is_patient(self) -> bool:
        return bool(self.patient_id)

    def get_user_id(self) -> str:
        if self.patient_id:
            return f"patient-{self.patient_id}"
        return self.practitioner_id or "sandbox-user"


@dataclass(frozen=True)
class LaunchContext:
    """What a launch hands the app with its token, and the fault it carries."""

    patient_id: str | None = None
    encounter_id: str | None = None
    fault: Fault | None = None
    intent: str | None = None
    fhir_context: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Launch:
    """An opaque launch id created by the EHR page, bound server-side to its context."""

    launch_id: str
    context: LaunchContext


class Client(ClientMixin):
    """A registered app, seen through authlib's ClientMixin."""

    def __init__(self, registration: ClientRegistration) -> None:
        self.registration = registration
        self.client_id = registration.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only a client with a single registered redirect URI may omit it (RFC 6749 3.1.2.3).
        uris = self.registration.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes, if every one is known and allowed; None refuses (invalid_scope)."""
        requested = split_scopes(scope)
        allowed = split_scopes(self.registration.scope)
        if not requested or not all(is_known_scope(s) and is_covered(s, allowed) for s in requested):
            return None
        return " ".join(requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.registration.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        expected = self.registration.client_secret
        return expected is not None and secrets.compare_digest(expected.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint in ("token", "revocation"):
            return method == self.registration.auth_method
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.registration.grant_types


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """An issued authorization code; single use, ten minutes."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: SandboxUser
    context: LaunchContext
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    auth_time: int = field(default_factory=lambda: int(time.time()))
    expires_at: float = field(default_factory=lambda: time.time() + CODE_LIFETIME_SECONDS)
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class AccessToken(TokenMixin):
    """An issued bearer access token; `expires_at` may already have passed (a fault)."""

    access_token: str
    client_id: str
    scope: str
    user: SandboxUser
    context: LaunchContext
    expires_at: float
    issued_at: float = field(default_factory=time.time)
    code: str | None = None  # the authorization code it came from, to revoke on code replay
    revoked: bool = False

    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.expires_at - self.issued_at))

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> SandboxUser:
        return self.user


@dataclass
class RefreshGrant(TokenMixin):
    """A refresh token (issued for offline_access or online_access); it does not rotate."""

    refresh_token: str
    client_id: str
    scope: str
    user: SandboxUser
    context: LaunchContext
    code: str | None = None
    revoked: bool = False

    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> SandboxUser:
        return self.user
