"""The consent page: Approve / Deny, CSRF, escaping, and the standalone patient picker."""

from __future__ import annotations

import re

import requests
from authlib.common.security import generate_token

from tests.sandbox.conftest import Seeded, Smart, query_of


def open_consent(smart: Smart, scope: str, launch: str | None = None) -> tuple[requests.Session, str, str]:
    """GET the authorize URL in a browser-like session: (session, form action, csrf token)."""
    browser = requests.Session()
    oauth = smart.session(scope=scope)
    url, _ = oauth.create_authorization_url(
        smart.authorize_url,
        code_verifier=generate_token(48),
        aud=smart.stack.fhir_base,
        launch=launch,
        state="consent-state",
    )
    page = browser.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert action and csrf
    return browser, action.group(1).replace("&amp;", "&"), csrf.group(1)


def test_consent_page_shows_client_scopes_and_escaped_patient(consent_smart: Smart, seeded: Seeded) -> None:
    launch = consent_smart.ehr_launch(seeded.patient_a)
    browser = requests.Session()
    oauth = consent_smart.session(scope="launch patient/Condition.rs")
    url, _ = oauth.create_authorization_url(
        consent_smart.authorize_url,
        code_verifier=generate_token(48),
        aud=consent_smart.stack.fhir_base,
        launch=launch,
    )
    page = browser.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert "test-public" in page.text
    assert "Read and search the patient&#39;s Condition records" in page.text
    assert "&lt;b&gt;Alpha&lt;/b&gt;" in page.text and "<b>Alpha</b>" not in page.text
    assert 'value="approve"' in page.text and 'value="deny"' in page.text


def test_deny_redirects_with_access_denied_and_state(consent_smart: Smart, seeded: Seeded) -> None:
    browser, action, csrf = open_consent(
        consent_smart, "launch patient/Condition.rs", consent_smart.ehr_launch(seeded.patient_a)
    )
    response = browser.post(
        consent_smart.stack.sandbox_url + action,
        allow_redirects=False,
        data={"csrf_token": csrf, "decision": "deny"},
        timeout=10,
    )
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == "consent-state"
    assert "code" not in params


def test_approve_redirects_with_a_code(consent_smart: Smart, seeded: Seeded) -> None:
    browser, action, csrf = open_consent(
        consent_smart, "launch patient/Condition.rs", consent_smart.ehr_launch(seeded.patient_a)
    )
    response = browser.post(
        consent_smart.stack.sandbox_url + action,
        allow_redirects=False,
        data={"csrf_token": csrf, "decision": "approve"},
        timeout=10,
    )
    params = query_of(response.headers["Location"])
    assert params["code"] and params["state"] == "consent-state"


def test_approve_without_the_csrf_token_is_refused(consent_smart: Smart, seeded: Seeded) -> None:
    browser, action, _ = open_consent(
        consent_smart, "launch patient/Condition.rs", consent_smart.ehr_launch(seeded.patient_a)
    )
    response = browser.post(
        consent_smart.stack.sandbox_url + action,
        allow_redirects=False,
        data={"csrf_token": "forged", "decision": "approve"},
        timeout=10,
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_standalone_patient_picker_binds_the_chosen_patient(consent_smart: Smart, seeded: Seeded) -> None:
    oauth = consent_smart.session(scope="launch/patient patient/Condition.rs")
    verifier = generate_token(48)
    url, _ = oauth.create_authorization_url(
        consent_smart.authorize_url, code_verifier=verifier, aud=consent_smart.stack.fhir_base
    )
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert f'<option value="{seeded.patient_b}">' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = browser.post(
        url,
        allow_redirects=False,
        timeout=10,
        data={"csrf_token": csrf, "decision": "approve", "patient": seeded.patient_b},
    )
    token = oauth.fetch_token(
        consent_smart.token_url, code_verifier=verifier, authorization_response=response.headers["Location"]
    )
    assert token["patient"] == seeded.patient_b
