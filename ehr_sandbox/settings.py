"""How a sandbox EHR runs: its settings and the apps registered with its authorization server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import ECKey, RSAKey

from ehr_sandbox.errors import ConfigurationError

AUTH_METHODS = ("none", "client_secret_basic", "private_key_jwt")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
# What a client may ask for unless its registration says otherwise: every SMART scope.
DEFAULT_ALLOWED_SCOPE = (
    "launch launch/patient launch/encounter openid fhirUser profile "
    "offline_access online_access patient/*.cruds user/*.cruds"
)


@dataclass
class ClientRegistration:
    """An app registered with the sandbox authorization server.

    `auth_method` "none" is a public client; "client_secret_basic" needs `client_secret`;
    "private_key_jwt" needs `jwks` (a JWK Set dict) or `jwks_uri`. A SMART Backend Services
    client (`grant_types` ("client_credentials",)) must use private_key_jwt and may hold only
    `system/` scopes: it acts as itself, with no user and no patient context.
    """

    client_id: str
    redirect_uris: list[str]
    scope: str = DEFAULT_ALLOWED_SCOPE
    auth_method: str = "none"
    client_secret: str | None = field(default=None, repr=False)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    # Asked for and allowed, but left out of the grant (a user or policy withholding them; SMART
    # lets an authorization server grant fewer scopes than asked, and says so in `scope`).
    withheld_scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.grant_types = tuple(self.grant_types)
        unknown = set(self.grant_types) - set(GRANT_TYPES)
        if unknown or not self.grant_types:
            raise ConfigurationError(f"grant_types must be among {GRANT_TYPES}")
        if "client_credentials" in self.grant_types:
            # SMART Backend Services: asymmetric client authentication only, system scopes only.
            if self.auth_method != "private_key_jwt" or len(self.grant_types) != 1:
                raise ConfigurationError("a client_credentials client uses private_key_jwt and nothing else")
            if not all(s.startswith("system/") for s in self.scope.split()):
                raise ConfigurationError("a client_credentials client may hold only system/ scopes")
        if self.auth_method not in AUTH_METHODS:
            raise ConfigurationError(f"auth_method must be one of {AUTH_METHODS}")
        if self.auth_method == "client_secret_basic" and not self.client_secret:
            raise ConfigurationError("client_secret_basic needs a client_secret")
        if self.auth_method == "private_key_jwt" and not (self.jwks or self.jwks_uri):
            raise ConfigurationError("private_key_jwt needs jwks or jwks_uri")

    @property
    def client_type(self) -> str:
        """`public` or `confidential`."""
        return "public" if self.auth_method == "none" else "confidential"


@dataclass
class SandboxSettings:
    """How one sandbox EHR runs. `public_url` is its root, e.g. http://127.0.0.1:8001."""

    backing_fhir_base: str
    public_url: str
    app_launch_url: str | None = None
    clients: list[ClientRegistration] = field(default_factory=list)
    auto_approve: bool = False
    access_token_lifetime: int = 3600
    signing_key: RSAKey | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    # Seeded patients, first one first: a standalone launch/patient picks the first by default.
    patient_ids: list[str] = field(default_factory=list)
    timeout: float = 20.0
    # CDS Hooks: the app's discovery URL (`{base}/cds-services`) and the key the EHR signs its
    # CDS client JWTs with (ES384; published at `cds_jwks_url`).
    cds_services_url: str | None = None
    cds_key: ECKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.backing_fhir_base = self.backing_fhir_base.rstrip("/")
        self.public_url = self.public_url.rstrip("/")
        if self.signing_key is None:
            key = RSAKey.generate_key(2048, private=True)
            self.signing_key = RSAKey.import_key(key.as_dict(private=True, kid=key.thumbprint()))
        if self.cds_key is None:
            ec = ECKey.generate_key("P-384", private=True)
            self.cds_key = ECKey.import_key(ec.as_dict(private=True, kid=ec.thumbprint()))

    @property
    def cds_issuer(self) -> str:
        """The `iss` of the EHR's CDS Hooks JWTs."""
        return self.public_url

    @property
    def cds_jwks_url(self) -> str:
        """Where the EHR publishes the public key of its CDS Hooks JWTs (the `jku`)."""
        return f"{self.public_url}/ehr/cds/jwks"

    @property
    def fhir_base(self) -> str:
        """The sandbox's FHIR base: the `iss` of every launch and the OpenID issuer."""
        return f"{self.public_url}/fhir"

    @property
    def key(self) -> RSAKey:
        assert self.signing_key is not None  # set in __post_init__  # noqa: S101
        return self.signing_key
