"""The CDS Hooks service's settings: trusted clients (JWT issuers), URLs, limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_rehab.launch.settings import LaunchSettings, normalize_iss

SERVICE_ID = "sciatica-rehab"
DISCOVERY_PATH = "/cds-services"
SERVICE_PATH = f"{DISCOVERY_PATH}/{SERVICE_ID}"
FEEDBACK_PATH = f"{SERVICE_PATH}/feedback"


@dataclass(frozen=True)
class TrustedClient:
    """A CDS client (an EHR) the service trusts, known by its JWT `iss`.

    Its keys come only from here: `jwks` (a JWK Set agreed out of band), `jwks_url`, or a JWT
    `jku` header that is one of `jku`. `fhir_servers`, when given, narrows which FHIR bases its
    calls may point the service at (always within the app's ISS_ALLOWLIST).
    """

    iss: str
    jwks_url: str | None = None
    jku: tuple[str, ...] = ()
    jwks: dict[str, Any] | None = None
    fhir_servers: tuple[str, ...] = ()


def parse_trusted_clients(raw: Any) -> dict[str, TrustedClient]:
    """CDS_TRUSTED_CLIENTS (a mapping iss -> options) as TrustedClients; bad entries raise.

    >>> parse_trusted_clients({"https://ehr/": {"jwks_url": "https://ehr/jwks"}})["https://ehr/"].jwks_url
    'https://ehr/jwks'
    """
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError("CDS_TRUSTED_CLIENTS must map each issuer to its options")
    out = {}
    for iss, options in raw.items():
        if not isinstance(iss, str) or not iss or not isinstance(options, Mapping):
            raise ValueError("CDS_TRUSTED_CLIENTS: each issuer needs an options object")
        jwks = options.get("jwks")
        if jwks is not None and not isinstance(jwks, Mapping):
            raise ValueError(f"CDS_TRUSTED_CLIENTS[{iss!r}].jwks must be a JWK Set")
        client = TrustedClient(
            iss=iss,
            jwks_url=options.get("jwks_url") or None,
            jku=tuple(str(u) for u in options.get("jku") or ()),
            jwks=dict(jwks) if jwks else None,
            fhir_servers=tuple(normalize_iss(str(u)) for u in options.get("fhir_servers") or ()),
        )
        if not (client.jwks_url or client.jku or client.jwks):
            raise ValueError(f"CDS_TRUSTED_CLIENTS[{iss!r}] needs jwks, jwks_url or jku")
        out[iss] = client
    return out


@dataclass(frozen=True)
class CdsSettings:
    """Everything the CDS views read from the config, passed on explicitly."""

    public_url: str | None
    trusted: dict[str, TrustedClient]
    fhir_allowlist: tuple[str, ...]
    fhir_timeout: float
    jwt_max_lifetime: int
    jwks_ttl: int
    http_timeout: float
    launch_url: str | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CdsSettings:
        launch = LaunchSettings.from_config(config)
        return cls(
            public_url=launch.public_url,
            trusted=parse_trusted_clients(config.get("CDS_TRUSTED_CLIENTS")),
            fhir_allowlist=launch.iss_allowlist,
            fhir_timeout=float(config.get("CDS_FHIR_TIMEOUT_SECONDS", 5.0)),
            jwt_max_lifetime=int(config.get("CDS_JWT_MAX_LIFETIME_SECONDS", 600)),
            jwks_ttl=int(config.get("CDS_JWKS_TTL_SECONDS", 300)),
            http_timeout=launch.http_timeout,
            launch_url=f"{launch.public_url}/launch" if launch.public_url else None,
        )

    def audience(self, path: str) -> str | None:
        """The URL a client's JWT must name as `aud` for `path`; None without PUBLIC_URL
        (then no call is trusted: the request's own Host header would prove nothing)."""
        return f"{self.public_url}{path}" if self.public_url else None

    def allowed_fhir_server(self, client: TrustedClient, fhir_server: str) -> str | None:
        """The normalized FHIR base when this client may point the service at it, else None."""
        base = normalize_iss(fhir_server)
        if base not in self.fhir_allowlist:
            return None
        if client.fhir_servers and base not in client.fhir_servers:
            return None
        return base
