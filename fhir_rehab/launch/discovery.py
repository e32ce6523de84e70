"""SMART discovery (`{iss}/.well-known/smart-configuration`), cached in-process with a TTL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from fhir_rehab.launch.errors import DiscoveryFailed, InsecureServer

WELL_KNOWN = "/.well-known/smart-configuration"


@dataclass(frozen=True)
class SmartConfiguration:
    """The parts of a SMART configuration the app uses (SMART App Launch 2.x, 2.0.1)."""

    iss: str
    authorization_endpoint: str
    token_endpoint: str
    issuer: str | None
    jwks_uri: str | None
    capabilities: tuple[str, ...]
    code_challenge_methods: tuple[str, ...]
    revocation_endpoint: str | None = None  # RFC 7009, where the server offers it
    userinfo_endpoint: str | None = None  # OpenID Connect UserInfo, where the server lists it

    @property
    def supports_s256(self) -> bool:
        return "S256" in self.code_challenge_methods


def parse_smart_configuration(iss: str, document: Any) -> SmartConfiguration:
    """Validate a discovery document; endpoints of an HTTPS `iss` must be HTTPS too.

    >>> c = parse_smart_configuration("https://ehr/fhir", {
    ...     "authorization_endpoint": "https://ehr/auth", "token_endpoint": "https://ehr/token",
    ...     "capabilities": ["permission-v2"], "code_challenge_methods_supported": ["S256"]})
    >>> c.supports_s256, c.capabilities
    (True, ('permission-v2',))
    """
    if not isinstance(document, dict):
        raise DiscoveryFailed()
    endpoints = [document.get("authorization_endpoint"), document.get("token_endpoint")]
    if not all(isinstance(url, str) and _is_http_url(url) for url in endpoints):
        raise DiscoveryFailed()
    jwks_uri = document.get("jwks_uri")
    if jwks_uri is not None and not (isinstance(jwks_uri, str) and _is_http_url(jwks_uri)):
        raise DiscoveryFailed()
    if urlsplit(iss).scheme == "https" and any(
        urlsplit(url).scheme != "https" for url in [*endpoints, jwks_uri] if url
    ):
        raise InsecureServer("The EHR's sign-in service does not use HTTPS. Contact your administrator.")
    issuer = document.get("issuer")
    revocation = document.get("revocation_endpoint")
    if not (isinstance(revocation, str) and _is_http_url(revocation)):
        revocation = None
    elif urlsplit(iss).scheme == "https" and urlsplit(revocation).scheme != "https":
        revocation = None  # never send a token in clear text
    return SmartConfiguration(
        iss=iss,
        authorization_endpoint=str(endpoints[0]),
        token_endpoint=str(endpoints[1]),
        issuer=issuer if isinstance(issuer, str) and issuer else None,
        jwks_uri=jwks_uri,
        capabilities=_strings(document.get("capabilities")),
        code_challenge_methods=_strings(document.get("code_challenge_methods_supported")),
        revocation_endpoint=revocation,
        userinfo_endpoint=_endpoint(iss, document.get("userinfo_endpoint")),
    )


def fetch_smart_configuration(iss: str, *, http: requests.Session, timeout: float) -> SmartConfiguration:
    """GET and parse the discovery document; any failure is a DiscoveryFailed."""
    try:
        resp = http.get(
            iss + WELL_KNOWN, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False
        )
        if resp.status_code != 200:
            raise DiscoveryFailed()
        document = resp.json()
    except (requests.RequestException, ValueError):
        raise DiscoveryFailed() from None
    return parse_smart_configuration(iss, document)


class DiscoveryCache:
    """Discovery documents per `iss`, kept `ttl` seconds; failures are not cached."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, SmartConfiguration]] = {}
        self._lock = threading.Lock()

    def get(
        self, iss: str, *, now: float, ttl: float, http: requests.Session, timeout: float
    ) -> SmartConfiguration:
        with self._lock:
            entry = self._entries.get(iss)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        config = fetch_smart_configuration(iss, http=http, timeout=timeout)
        with self._lock:
            self._entries[iss] = (now, config)
        return config

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _endpoint(iss: str, value: Any) -> str | None:
    """An optional endpoint: an http(s) URL, https when `iss` is (never a token in clear)."""
    if not (isinstance(value, str) and _is_http_url(value)):
        return None
    if urlsplit(iss).scheme == "https" and urlsplit(value).scheme != "https":
        return None
    return value


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()
