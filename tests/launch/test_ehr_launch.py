"""EHR launch end to end against a fake authorization server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.launch.conftest import AUTHORIZE_URL, CLIENT_ID, ISS, PATIENT


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_ehr_launch_public_client(launcher, auth_server, client) -> None:
    response = launcher.start(iss=ISS, launch="xyz123")
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith(AUTHORIZE_URL + "?")
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["aud"] == ISS
    assert params["launch"] == "xyz123"
    assert params["redirect_uri"] == "http://localhost/launch/callback"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 22 and params["nonce"]
    scopes = params["scope"].split()
    assert scopes[:4] == ["launch", "openid", "fhirUser", "offline_access"]
    assert "patient/Observation.cruds" in scopes and "launch/patient" not in scopes

    done = launcher.callback(auth_server.approve(response.headers["Location"]))
    assert done.status_code == 302
    assert done.headers["Location"] == "/patient"
    form = auth_server.token_requests[0]["form"]
    assert form["grant_type"] == "authorization_code"
    assert form["client_id"] == CLIENT_ID
    assert "Authorization" not in auth_server.token_requests[0]["headers"]
    me = client.get("/_test/whoami").get_json()
    assert me["patient"] == PATIENT
    assert me["encounter"] == "e1"
    assert me["fhirUser"] == f"{ISS}/Practitioner/pr1"
    assert client.get("/_test/patient-id").get_data(as_text=True) == PATIENT
