"""Faults chosen on the EHR page change what follows from that launch, and only that launch."""

from __future__ import annotations

import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError

from ehr_sandbox.faults import AUTHORIZE_FAULTS, Fault
from tests.sandbox.conftest import Seeded, Smart, fhir_get, query_of


@pytest.mark.parametrize("fault", sorted(AUTHORIZE_FAULTS))
def test_authorize_faults_show_an_error_page_and_never_redirect(
    smart: Smart, seeded: Seeded, fault: Fault
) -> None:
    launch = smart.ehr_launch(seeded.patient_a, fault.value)
    response = smart.authorize(smart.session(), generate_token(48), launch=launch)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "simulated fault" in response.text


def test_token_invalid_token_fails_the_code_exchange(smart: Smart, seeded: Seeded) -> None:
    session = smart.session()
    verifier = generate_token(48)
    launch = smart.ehr_launch(seeded.patient_a, Fault.TOKEN_INVALID_TOKEN.value)
    response = smart.authorize(session, verifier, launch=launch)
    assert "code" in query_of(response.headers["Location"])
    with pytest.raises(OAuthError) as error:
        session.fetch_token(
            smart.token_url, authorization_response=response.headers["Location"], code_verifier=verifier
        )
    assert error.value.error == "invalid_grant"


# fault -> (status of a FHIR read with the first token, status after refreshing)
REQUEST_FAULTS = {
    "none": (200, 200),
    Fault.REQUEST_INVALID_TOKEN.value: (401, 401),
    Fault.REQUEST_EXPIRED_TOKEN.value: (401, 200),
    Fault.FHIR_SERVER_ERROR.value: (500, 500),
}


@pytest.mark.parametrize("fault", REQUEST_FAULTS)
def test_request_faults(smart: Smart, seeded: Seeded, fault: str) -> None:
    first, after_refresh = REQUEST_FAULTS[fault]
    session, token = smart.login(patient_id=seeded.patient_a, fault=fault)
    url = f"{smart.stack.fhir_base}/Patient/{seeded.patient_a}"
    response = fhir_get(url, token["access_token"])
    assert response.status_code == first
    assert response.json()["resourceType"] == ("Patient" if first == 200 else "OperationOutcome")
    if first == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    refreshed = session.refresh_token(smart.token_url, refresh_token=token["refresh_token"])
    assert fhir_get(url, refreshed["access_token"]).status_code == after_refresh


def test_token_expired_refresh_token_fails_the_refresh_only(smart: Smart, seeded: Seeded) -> None:
    session, token = smart.login(patient_id=seeded.patient_a, fault=Fault.TOKEN_EXPIRED_REFRESH_TOKEN.value)
    url = f"{smart.stack.fhir_base}/Patient/{seeded.patient_a}"
    assert fhir_get(url, token["access_token"]).status_code == 200
    with pytest.raises(OAuthError) as error:
        session.refresh_token(smart.token_url, refresh_token=token["refresh_token"])
    assert error.value.error == "invalid_grant"


def test_a_fault_stays_with_its_launch(smart: Smart, seeded: Seeded) -> None:
    _, faulty = smart.login(patient_id=seeded.patient_a, fault=Fault.FHIR_SERVER_ERROR.value)
    _, healthy = smart.login(patient_id=seeded.patient_a)
    url = f"{smart.stack.fhir_base}/Patient/{seeded.patient_a}"
    assert fhir_get(url, faulty["access_token"]).status_code == 500
    assert fhir_get(url, healthy["access_token"]).status_code == 200
