"""SMART launches over real HTTP through the sandbox: client types, standalone, faults, refresh.

The happy paths live here, against the real sandbox; tests/launch fakes the authorization
server only for what the sandbox cannot produce (malformed discovery, bad signatures, clocks)."""

import html

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from tests.web.conftest import Browser


@pytest.mark.parametrize("client_auth", ["none", "client_secret_basic", "private_key_jwt"])
def test_ehr_launch_for_each_client_type(fhir_server, client_auth):
    """The sandbox accepts only the registered token-endpoint authentication (none, Basic, or a
    private_key_jwt assertion checked against the app's JWKS), so each launch proves the app's."""
    with SandboxStack(auto_approve=True, client_auth=client_auth, fhir_base=fhir_server.base_url) as stack:
        page = Browser(stack).launch("eligible-icd10")
        assert page.status_code == 200, page.text[:300]
        assert page.url == f"{stack.app_url}/patient"
        assert "Alex" in page.text


def test_standalone_launch_picks_a_patient(stack):
    http = requests.Session()
    page = http.get(f"{stack.app_url}/launch", timeout=30)
    assert page.status_code == 200 and page.url.endswith("/patient")


@pytest.mark.parametrize(
    "fault,status,text",
    [
        # Rejected right after the launch: said as it is (not "expired"), with a way back in.
        ("request_invalid_token", 401, "did not accept the app"),
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
    assert text in html.unescape(page.text).lower()
    assert "Traceback" not in page.text
    if fault == "request_invalid_token":
        assert "expired" not in page.text and "in the ehr, open the patient" in page.text.lower()
        assert "Sign in again" in page.text  # a relaunch action at the same EHR
    if fault == "fhir_server_error":
        assert ">Try again</a>" in page.text


def test_expired_access_token_is_refreshed_transparently(stack):
    browser = Browser(stack)
    patient = next(p for p in stack.patients if p.key == "eligible-snomed")
    page = browser.http.get(
        f"{stack.sandbox_url}/ehr/launch",
        params={"patient": patient.patient_id, "fault": "request_expired_token"},
        timeout=30,
    )
    assert page.status_code == 200 and "Sam" in page.text


def test_failed_refresh_explains_how_to_relaunch(fhir_server):
    with SandboxStack(auto_approve=True, access_token_lifetime=0, fhir_base=fhir_server.base_url) as stack:
        browser = Browser(stack)
        patient = next(p for p in stack.patients if p.key == "eligible-icd10")
        page = browser.http.get(
            f"{stack.sandbox_url}/ehr/launch",
            params={"patient": patient.patient_id, "fault": "token_expired_refresh_token"},
            timeout=30,
        )
        assert page.status_code == 401
        assert "in the ehr, open the patient" in page.text.lower()
        # The launch is over: the next page asks for a new launch, and tries no refresh.
        again = browser.http.get(f"{stack.app_url}/patient", timeout=30)
        assert again.status_code == 401 and "Traceback" not in again.text
