"""The launch client's settings, read once from the app config and passed explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def normalize_iss(iss: str) -> str:
    """Compare FHIR base URLs without case in scheme/host and without trailing slashes.

    >>> normalize_iss("HTTPS://EHR.example.org/fhir/r4/")
    'https://ehr.example.org/fhir/r4'
    >>> normalize_iss("http://localhost:8080///")
    'http://localhost:8080'
    """
    parts = urlsplit(iss.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


@dataclass(frozen=True)
class LaunchSettings:
    """Everything the launch client reads from the config (DEFAULTS in fhir_rehab/config.py)."""

    iss_allowlist: tuple[str, ...]
    default_iss: str | None
    client_id: str
    client_secret: str | None
    private_key_path: str | None
    key_id: str | None
    require_pkce_s256: bool
    public_url: str | None
    discovery_ttl: int
    http_timeout: float
    standalone_role: str
    refresh_leeway: int
    fhir_timeout: float
    idle_timeout: int = 30 * 60
    session_lifetime: int = 8 * 3600
    id_token_leeway: int = 300
    prompt_consent: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LaunchSettings:
        default_iss = normalize_iss(config["DEFAULT_ISS"]) if config.get("DEFAULT_ISS") else None
        allowlist = [normalize_iss(i) for i in config.get("ISS_ALLOWLIST") or [] if i]
        # DEFAULT_ISS is the operator's own choice, so it is allowed without being listed.
        if default_iss and default_iss not in allowlist:
            allowlist.append(default_iss)
        return cls(
            iss_allowlist=tuple(allowlist),
            default_iss=default_iss,
            client_id=str(config.get("CLIENT_ID") or "fhir-rehab"),
            client_secret=config.get("CLIENT_SECRET") or None,
            private_key_path=config.get("CLIENT_PRIVATE_KEY_PATH") or None,
            key_id=config.get("CLIENT_KEY_ID") or None,
            require_pkce_s256=bool(config.get("REQUIRE_PKCE_S256", True)),
            public_url=(config.get("PUBLIC_URL") or "").rstrip("/") or None,
            discovery_ttl=int(config.get("DISCOVERY_TTL_SECONDS", 300)),
            http_timeout=float(config.get("LAUNCH_HTTP_TIMEOUT_SECONDS", 10.0)),
            standalone_role=str(config.get("STANDALONE_ROLE") or "clinician"),
            refresh_leeway=int(config.get("TOKEN_REFRESH_LEEWAY_SECONDS", 60)),
            fhir_timeout=float(config.get("FHIR_TIMEOUT_SECONDS", 20.0)),
            idle_timeout=int(config.get("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)),
            session_lifetime=int(config.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
            id_token_leeway=int(config.get("ID_TOKEN_LEEWAY_SECONDS", 300)),
            prompt_consent=bool(config.get("OPENID_PROMPT_CONSENT", False)),
        )

    @property
    def is_https(self) -> bool:
        """The app is served over HTTPS (decides the session cookie flags)."""
        return bool(self.public_url and self.public_url.lower().startswith("https://"))

    def allowed_iss(self, iss: str | None) -> str | None:
        """The normalized `iss` when it is on the allowlist, else None."""
        if not iss:
            return None
        normalized = normalize_iss(iss)
        return normalized if normalized in self.iss_allowlist else None
