"""The patient portal: a patient signs in, their token is about themselves only, and the proxy
refuses any change to the plan, its Tasks or reviews (403), whatever the scopes say."""

from __future__ import annotations

import json
import re

import pytest
import requests
from authlib.common.security import generate_token
from joserfc import jwt

from tests.sandbox.conftest import Seeded, Smart, fhir_get

# Wider than the app asks for on purpose: the proxy must refuse changes even when granted.
GREEDY = "launch/patient openid fhirUser patient/*.cruds"


def portal_session(stack, patient_id: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{stack.sandbox_url}/portal/", timeout=10).text
    assert "Sign in as" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = http.post(
        f"{stack.sandbox_url}/portal/sign-in", data={"csrf_token": csrf, "patient": patient_id}, timeout=10
    )
    assert signed.status_code == 200 and "Signed in as" in signed.text
    return http


def patient_login(smart: Smart, stack, patient_id: str, scope: str = GREEDY) -> dict:
    http = portal_session(stack, patient_id)
    session = smart.session(scope=scope)
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(
        smart.authorize_url, code_verifier=verifier, aud=stack.fhir_base, nonce=generate_token(16)
    )
    response = http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return dict(
        session.fetch_token(
            smart.token_url, authorization_response=response.headers["Location"], code_verifier=verifier
        )
    )


def send(method: str, url: str, token: str, body: dict) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    return requests.request(method, url, data=json.dumps(body), headers=headers, timeout=10)


@pytest.fixture
def patient_token(smart: Smart, stack, seeded: Seeded) -> dict:
    return patient_login(smart, stack, seeded.patient_a)


def test_a_portal_sign_in_gets_a_token_about_that_patient(patient_token, seeded, smart):
    assert patient_token["patient"] == seeded.patient_a
    claims = jwt.decode(patient_token["id_token"], smart.jwks()).claims
    assert claims["fhirUser"] == f"Patient/{seeded.patient_a}"


def test_the_portal_offers_open_my_exercises(stack, seeded):
    http = portal_session(stack, seeded.patient_a)
    page = http.get(f"{stack.sandbox_url}/portal/", timeout=10).text
    assert "Signed in as <strong>Ann &lt;b&gt;Alpha&lt;/b&gt;</strong>" in page
    link = re.search(r'<a class="button" href="([^"]+)">Open my exercises</a>', page).group(1)
    assert "role=patient" in link and "iss=" in link


def test_a_patient_token_reads_itself_and_nobody_else(patient_token, stack, seeded):
    token = patient_token["access_token"]
    assert fhir_get(f"{stack.fhir_base}/Patient/{seeded.patient_a}", token).status_code == 200
    assert fhir_get(f"{stack.fhir_base}/Patient/{seeded.patient_b}", token).status_code == 403
    assert fhir_get(f"{stack.fhir_base}/Condition", token, patient=seeded.patient_b).status_code == 403


def _own(stack, resource_type: str, body: dict) -> dict:
    created = requests.post(
        f"{stack.backing_fhir_base}/{resource_type}",
        data=json.dumps(body),
        headers={"Content-Type": "application/fhir+json"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_a_patient_token_never_changes_the_plan_tasks_or_reviews(patient_token, stack, seeded):
    token = patient_token["access_token"]
    subject = {"reference": f"Patient/{seeded.patient_a}"}
    plan = _own(
        stack,
        "CarePlan",
        {"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": subject},
    )
    task = _own(
        stack, "Task", {"resourceType": "Task", "status": "requested", "intent": "order", "for": subject}
    )
    for resource_type, resource, change in (
        ("CarePlan", plan, {"status": "revoked"}),
        ("Task", task, {"status": "cancelled"}),
    ):
        url = f"{stack.fhir_base}/{resource_type}/{resource['id']}"
        refused = send("PUT", url, token, {**resource, **change})
        assert refused.status_code == 403, refused.text
        assert "cannot change the care plan" in refused.text
        assert send("DELETE", url, token, {}).status_code == 403
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**task, "status": "completed"},
                "request": {"method": "PUT", "url": f"Task/{task['id']}"},
            }
        ],
    }
    assert send("POST", stack.fhir_base, token, bundle).status_code == 403
    after = requests.get(f"{stack.backing_fhir_base}/Task/{task['id']}", timeout=10).json()
    assert after["status"] == "requested"
    # Asking the care team for something is allowed: a new, requested Task about themselves.
    ask = {"resourceType": "Task", "status": "requested", "intent": "order", "for": subject}
    assert send("POST", f"{stack.fhir_base}/Task", token, ask).status_code == 201
    assert send("POST", f"{stack.fhir_base}/Task", token, {**ask, "status": "completed"}).status_code == 403
    # ... and their own reports.
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "pain"}, "subject": subject}
    assert send("POST", f"{stack.fhir_base}/Observation", token, obs).status_code == 201


def test_a_patient_cannot_be_granted_user_level_access(smart, stack, seeded):
    http = portal_session(stack, seeded.patient_a)
    session = smart.session(scope="launch/patient openid fhirUser user/Task.rs")
    url, _ = session.create_authorization_url(
        smart.authorize_url, code_verifier=generate_token(48), aud=stack.fhir_base
    )
    refused = http.get(url, allow_redirects=False, timeout=10)
    assert refused.status_code == 400 and "own record only" in refused.text
