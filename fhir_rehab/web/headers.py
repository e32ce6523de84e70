"""Security headers on every response: CSP (no inline script or style, frame-ancestors from the
EHR origins), nosniff, Referrer-Policy, no-store for pages, HSTS over HTTPS."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.wrappers import Response

HSTS = "max-age=31536000"
REFERRER_POLICY = "same-origin"
# An origin as CSP's frame-ancestors takes it: scheme, host, optional port; nothing else.
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")
CACHEABLE_ENDPOINTS = frozenset({"static", "launch.jwks"})  # no patient data; they set their own


def origin_of(url: str) -> str | None:
    """The origin of a URL (scheme://host[:port]), or None.

    >>> origin_of("https://EHR.example.org:8443/fhir/r4"), origin_of("not a url")
    ('https://ehr.example.org:8443', None)
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def frame_ancestors(config: Mapping[str, Any]) -> list[str]:
    """The EHR origins allowed to frame the app: EHR_ORIGINS, else the origins of the
    allowlisted `iss` values (an EHR usually serves its pages and its FHIR API from one site).

    >>> frame_ancestors({"EHR_ORIGINS": ["https://ehr.example.org"], "ISS_ALLOWLIST": []})
    ['https://ehr.example.org']
    >>> frame_ancestors({"ISS_ALLOWLIST": ["https://a.example/fhir", "https://a.example/r4"]})
    ['https://a.example']
    """
    configured: Iterable[str] = config.get("EHR_ORIGINS") or []
    origins: list[str] = []
    for value in configured:
        if not ORIGIN.fullmatch(value.rstrip("/")):
            raise ValueError(f"EHR_ORIGINS: {value!r} is not an origin like https://ehr.example.org")
        origins.append(value.rstrip("/").lower())
    if not origins:
        for iss in [*(config.get("ISS_ALLOWLIST") or []), config.get("DEFAULT_ISS") or ""]:
            found = origin_of(iss) if iss else None
            if found:
                origins.append(found)
    return list(dict.fromkeys(origins))


def content_security_policy(ancestors: list[str]) -> str:
    """The app's CSP: only its own scripts, styles and images; framed by itself and the EHRs.

    >>> content_security_policy(["https://ehr.example.org"]).split("; ")[-1]
    "frame-ancestors 'self' https://ehr.example.org"
    """
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors " + " ".join(["'self'", *ancestors]),
        ]
    )


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response of `app`, error pages included."""
    ancestors = frame_ancestors(app.config)
    csp = content_security_policy(ancestors)
    https = str(app.config.get("PUBLIC_URL") or "").lower().startswith("https://")

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = csp
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = REFERRER_POLICY
        if not ancestors:
            headers["X-Frame-Options"] = "SAMEORIGIN"  # older browsers; CSP says the same
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            headers["Cache-Control"] = "no-store"  # pages carry patient data: never cached
        if https or request.is_secure:
            headers["Strict-Transport-Security"] = HSTS
        return response
