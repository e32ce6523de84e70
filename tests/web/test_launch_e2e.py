"""SMART launches over real HTTP through the sandbox: client types, standalone, bad launches."""

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from tests.web.conftest import Browser


@pytest.mark.parametrize("client_auth", ["none", "client_secret_basic", "private_key_jwt"])
def test_ehr_launch_for_each_client_type(client_auth):
    with SandboxStack(auto_approve=True, client_auth=client_auth) as stack:
        page = Browser(stack).launch("eligible-icd10")
        assert page.status_code == 200, page.text[:300]
        assert page.url == f"{stack.app_url}/patient"
        assert "Alex" in page.text


def test_standalone_launch_picks_a_patient(stack):
    http = requests.Session()
    page = http.get(f"{stack.app_url}/launch", timeout=30)
    assert page.status_code == 200 and page.url.endswith("/patient")


def test_unknown_iss_gets_an_error_page_and_no_redirect(stack):
    response = requests.get(
        f"{stack.app_url}/launch",
        params={"iss": "https://evil.example.org/fhir", "launch": "x"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert not any("evil.example.org" in value for value in response.headers.values())
    assert 'href="https://evil' not in response.text and "http-equiv" not in response.text


@pytest.mark.parametrize(
    "fault,status,text",
    [
        ("request_invalid_token", 401, "in the ehr, open the patient"),
        ("fhir_server_error", 503, "not answering"),
        ("token_invalid_token", 502, "did not complete the sign-in"),
        ("auth_invalid_client_id", 400, ""),
    ],
)
def test_faults_end_on_a_friendly_page(stack, fault, status, text):
    browser = Browser(stack)
    patient = next(p for p in stack.patients if p.key == "eligible-icd10")
    page = browser.http.get(
        f"{stack.sandbox_url}/ehr/launch", params={"patient": patient.patient_id, "fault": fault}, timeout=30
    )
    assert page.status_code == status, (fault, page.status_code, page.text[:400])
    assert text in page.text.lower()
    assert "Traceback" not in page.text


def test_expired_access_token_is_refreshed_transparently(stack):
    browser = Browser(stack)
    patient = next(p for p in stack.patients if p.key == "eligible-snomed")
    page = browser.http.get(
        f"{stack.sandbox_url}/ehr/launch",
        params={"patient": patient.patient_id, "fault": "request_expired_token"},
        timeout=30,
    )
    assert page.status_code == 200 and "Sam" in page.text


def test_failed_refresh_explains_how_to_relaunch():
    with SandboxStack(auto_approve=True, access_token_lifetime=0) as stack:
        browser = Browser(stack)
        patient = next(p for p in stack.patients if p.key == "eligible-icd10")
        page = browser.http.get(
            f"{stack.sandbox_url}/ehr/launch",
            params={"patient": patient.patient_id, "fault": "token_expired_refresh_token"},
            timeout=30,
        )
        assert page.status_code == 401
        assert "in the ehr, open the patient" in page.text.lower()
