"""Authorization server: authorize + token with PKCE for public and confidential clients."""

from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from joserfc import jwt

from tests.sandbox.conftest import BASIC, JWT, NARROW, PATIENT_SCOPE, PUBLIC, Seeded, Smart, query_of


@pytest.mark.parametrize("client_id", [PUBLIC, BASIC, JWT])
def test_ehr_launch_gives_a_token_with_the_launch_context(
    smart: Smart, seeded: Seeded, client_id: str
) -> None:
    _, token = smart.login(client_id, patient_id=seeded.patient_a)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == PATIENT_SCOPE
    assert token["patient"] == seeded.patient_a
    assert token["need_patient_banner"] is True
    assert token["fhirContext"] == []
    assert "intent" not in token
    # An EHR launch happens during a visit: its encounter, at the sandbox clinic.
    visit = requests.get(f"{smart.stack.backing_fhir_base}/Encounter/{token['encounter']}", timeout=10).json()
    assert visit["subject"]["reference"] == f"Patient/{seeded.patient_a}"
    clinic = requests.get(
        f"{smart.stack.backing_fhir_base}/{visit['serviceProvider']['reference']}", timeout=10
    )
    assert clinic.json()["name"] == "Riverside Physiotherapy (sandbox)"
    assert token["refresh_token"]  # offline_access was granted
    style = requests.get(token["smart_style_url"], timeout=10)
    assert style.status_code == 200 and "color_background" in style.json()


def test_id_token_validates_against_the_published_jwks(smart: Smart, seeded: Seeded) -> None:
    nonce = generate_token(20)
    _, token = smart.login(patient_id=seeded.patient_a, nonce=nonce)
    decoded = jwt.decode(token["id_token"], smart.jwks(), algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": smart.stack.fhir_base},
        aud={"essential": True, "value": PUBLIC},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
    ).validate(decoded.claims)
    assert decoded.header["alg"] == "RS256"
    fhir_user = decoded.claims["fhirUser"]
    assert fhir_user.startswith("Practitioner/")
    practitioner = requests.get(f"{smart.stack.backing_fhir_base}/{fhir_user}", timeout=10)
    assert practitioner.status_code == 200


def test_replayed_code_is_invalid_grant(smart: Smart, seeded: Seeded) -> None:
    session = smart.session()
    verifier = generate_token(48)
    response = smart.authorize(session, verifier, launch=smart.ehr_launch(seeded.patient_a))
    location = response.headers["Location"]
    session.fetch_token(smart.token_url, authorization_response=location, code_verifier=verifier)
    with pytest.raises(OAuthError) as error:
        session.fetch_token(smart.token_url, authorization_response=location, code_verifier=verifier)
    assert error.value.error == "invalid_grant"


def test_wrong_code_verifier_is_invalid_grant(smart: Smart, seeded: Seeded) -> None:
    session = smart.session()
    response = smart.authorize(session, generate_token(48), launch=smart.ehr_launch(seeded.patient_a))
    with pytest.raises(OAuthError) as error:
        session.fetch_token(
            smart.token_url,
            authorization_response=response.headers["Location"],
            code_verifier=generate_token(48),
        )
    assert error.value.error == "invalid_grant"


@pytest.mark.parametrize("pkce", [None, "plain"])
def test_pkce_missing_or_plain_is_refused(smart: Smart, seeded: Seeded, pkce: str | None) -> None:
    session = smart.session(pkce=pkce)
    response = smart.authorize(
        session, generate_token(48) if pkce else None, launch=smart.ehr_launch(seeded.patient_a), state="st-1"
    )
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-1"
    assert "code" not in params


@pytest.mark.parametrize("aud", ["http://127.0.0.1:1/fhir", ""])
def test_wrong_aud_is_refused(smart: Smart, seeded: Seeded, aud: str) -> None:
    response = smart.authorize(
        smart.session(), generate_token(48), aud=aud, launch=smart.ehr_launch(seeded.patient_a)
    )
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_request" and "code" not in params


def test_unknown_launch_is_refused(smart: Smart) -> None:
    response = smart.authorize(smart.session(), generate_token(48), launch="not-a-launch")
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


def test_launch_scope_without_launch_is_refused(smart: Smart) -> None:
    response = smart.authorize(smart.session(scope="launch openid"), generate_token(48))
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    "scope", ["patient/*.rs user/Task.rs", "patient/*.cruds", "email", "patient/Condition.sr"]
)
def test_scopes_beyond_the_client_registration_are_invalid_scope(smart: Smart, scope: str) -> None:
    response = smart.authorize(smart.session(NARROW, scope=scope), generate_token(48))
    assert query_of(response.headers["Location"])["error"] == "invalid_scope"


def test_narrow_client_gets_what_it_is_allowed(smart: Smart) -> None:
    _, token = smart.login(NARROW, scope="openid patient/Condition.read")
    assert token["scope"] == "openid patient/Condition.read"


def test_unregistered_redirect_uri_shows_a_page_and_never_redirects(smart: Smart) -> None:
    session = smart.session()
    session.redirect_uri = "https://evil.example/cb"
    response = smart.authorize(session, generate_token(48), scope="openid")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "evil.example" not in response.headers.get("Location", "")


def test_unknown_client_shows_a_page(smart: Smart) -> None:
    response = smart.authorize(smart.session("nobody"), generate_token(48))
    assert response.status_code == 400 and "invalid_client" in response.text


def test_wrong_client_secret_is_invalid_client(smart: Smart, seeded: Seeded) -> None:
    session = smart.session(BASIC)
    verifier = generate_token(48)
    response = smart.authorize(session, verifier, launch=smart.ehr_launch(seeded.patient_a))
    session.client_secret = "wrong"
    with pytest.raises(OAuthError) as error:
        session.fetch_token(
            smart.token_url, authorization_response=response.headers["Location"], code_verifier=verifier
        )
    assert error.value.error == "invalid_client"


def test_refresh_gives_a_new_working_access_token(smart: Smart, seeded: Seeded) -> None:
    session, token = smart.login(patient_id=seeded.patient_a)
    refreshed = session.refresh_token(smart.token_url, refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["patient"] == seeded.patient_a
    assert refreshed["scope"] == PATIENT_SCOPE
    response = requests.get(
        f"{smart.stack.fhir_base}/Patient/{seeded.patient_a}",
        timeout=10,
        headers={"Authorization": f"Bearer {refreshed['access_token']}"},
    )
    assert response.status_code == 200


def test_no_refresh_token_without_offline_or_online_access(smart: Smart, seeded: Seeded) -> None:
    _, token = smart.login(scope="launch patient/Condition.rs", patient_id=seeded.patient_a)
    assert "refresh_token" not in token and "id_token" not in token


def test_standalone_launch_patient_picks_the_first_seeded_patient(smart: Smart, seeded: Seeded) -> None:
    _, token = smart.login(scope="launch/patient openid patient/Condition.rs")
    assert token["patient"] == seeded.patient_a


def test_user_scopes_without_patient_scopes_have_no_patient(smart: Smart) -> None:
    _, token = smart.login(scope="openid fhirUser online_access user/Condition.rs")
    assert "patient" not in token
    assert token["refresh_token"]  # online_access
