"""Issue 11: security headers on every response (CSP with no inline script or style and the EHR
origins as frame-ancestors, nosniff, Referrer-Policy, no-store on pages, HSTS over HTTPS),
and templates the CSP does not break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fhir_rehab import create_app

EHR = "https://ehr.example.org"
PATHS = ["/patient", "/worklist", "/launch", "/launch?iss=https://evil.example/fhir", "/no-such-page"]
TEMPLATES = Path(__file__).resolve().parents[2] / "fhir_rehab"


@pytest.fixture
def secure_app(tmp_path):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SESSION_DIR": str(tmp_path / "s"),
            "PUBLIC_URL": "https://rehab.example.org",
            "ISS_ALLOWLIST": [f"{EHR}/fhir/r4", "https://other-ehr.example.net:8443/fhir"],
        }
    )


def directives(response) -> dict[str, str]:
    csp = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in csp.split("; ")}


@pytest.mark.parametrize("path", PATHS)
def test_every_page_carries_the_security_headers(secure_app, path) -> None:
    response = secure_app.test_client().get(path)
    policy = directives(response)
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert policy["default-src"] == "default-src 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["frame-ancestors"] == (f"frame-ancestors 'self' {EHR} https://other-ehr.example.net:8443")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_post_refused_by_csrf_carries_them_too(secure_app) -> None:
    response = secure_app.test_client().post("/logout")
    assert response.status_code == 400
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_no_hsts_over_plain_http(app) -> None:
    response = app.test_client().get("/patient")
    assert "Strict-Transport-Security" not in response.headers


def test_without_ehr_origins_only_the_app_may_frame_itself(app) -> None:
    response = app.test_client().get("/patient")
    assert directives(response)["frame-ancestors"] == "frame-ancestors 'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_the_ehr_origins_setting_wins_over_the_iss_allowlist(tmp_path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "SESSION_DIR": str(tmp_path),
            "ISS_ALLOWLIST": ["https://fhir.example.org/r4"],
            "EHR_ORIGINS": ["https://portal.example.org"],
        }
    )
    response = app.test_client().get("/patient")
    assert directives(response)["frame-ancestors"] == "frame-ancestors 'self' https://portal.example.org"
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize("bad", ["https://ehr.example.org; script-src *", "ehr.example.org", "https://x/y"])
def test_an_ehr_origin_that_is_not_an_origin_stops_the_app_at_start(tmp_path, bad) -> None:
    with pytest.raises(ValueError, match="EHR_ORIGINS"):
        create_app({"TESTING": True, "SECRET_KEY": "t", "SESSION_DIR": str(tmp_path), "EHR_ORIGINS": [bad]})


def test_static_files_stay_cacheable_but_not_sniffable(app) -> None:
    response = app.test_client().get("/static/app.css")
    try:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        response.close()


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)


def test_no_template_has_inline_script_style_or_event_handlers() -> None:
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in INLINE.finditer(path.read_text())
    ]
    assert offenders == []


def test_a_patient_page_after_a_real_launch_is_no_store_and_framable_by_the_ehr(browser, stack) -> None:
    page = browser.launch("eligible-icd10")
    assert page.status_code == 200 and page.url.endswith("/patient")
    assert page.headers["Cache-Control"] == "no-store"
    sandbox_origin = stack.sandbox_url.rstrip("/")
    assert sandbox_origin in page.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1]
