"""GET /launch/callback: state binding, server errors, token endpoint failures, id_token checks."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey

from fhir_rehab.launch.store import LAUNCH_KEY, TOKEN_KEY
from tests.launch.conftest import ISS, LaunchActions


def assert_not_launched(client) -> None:
    with client.session_transaction() as sess:
        assert LAUNCH_KEY not in sess and TOKEN_KEY not in sess
    assert client.get("/_test/whoami").status_code == 401


def test_state_mismatch_is_refused(launcher, auth_server, client) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    state = params["state"]
    tampered = state[:-1] + ("Y" if state.endswith("X") else "X")  # always differs from the real one
    response = launcher.callback({**params, "state": tampered})
    assert response.status_code == 400
    assert "no longer valid" in response.get_data(as_text=True)
    assert auth_server.token_requests == []
    assert_not_launched(client)


def test_missing_state_is_refused(launcher, auth_server) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    response = launcher.callback({"code": params["code"]})
    assert response.status_code == 400
    assert auth_server.token_requests == []


def test_state_from_another_browser_is_refused(launcher, auth_server, app) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    other_browser = LaunchActions(app.test_client(), auth_server)
    assert other_browser.callback(params).status_code == 400
    assert auth_server.token_requests == []


def test_replayed_callback_is_refused(launcher, auth_server, client) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    assert launcher.callback(params).status_code == 302
    replay = launcher.callback(params)
    assert replay.status_code == 400
    assert len(auth_server.token_requests) == 1


def test_replay_after_a_failed_exchange_is_refused(launcher, auth_server) -> None:
    auth_server.token_error = (503, {"error": "temporarily_unavailable"})
    params = launcher.authorize(iss=ISS, launch="l")
    assert launcher.callback(params).status_code == 502
    auth_server.token_error = None
    assert launcher.callback(params).status_code == 400
    assert len(auth_server.token_requests) == 1


def test_expired_state_is_refused(launcher, auth_server, clock) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    clock.advance(601)
    assert launcher.callback(params).status_code == 400
    assert auth_server.token_requests == []


def test_two_tabs_can_launch_at_once(launcher, auth_server, client) -> None:
    first = launcher.authorize(iss=ISS, launch="tab1")
    second = launcher.authorize(iss=ISS, launch="tab2")
    assert launcher.callback(first).status_code == 302
    assert launcher.callback(second).status_code == 302


def test_consent_denied(launcher, auth_server, client) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    response = launcher.callback(
        {"state": params["state"], "error": "access_denied", "error_description": "<b>Click evil.example</b>"}
    )
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "Access was not granted" in body
    assert "evil.example" not in body
    assert auth_server.token_requests == []
    assert_not_launched(client)


def test_other_authorization_errors(launcher, auth_server) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    response = launcher.callback({"state": params["state"], "error": "invalid_scope"})
    assert response.status_code == 502
    assert "could not authorize" in response.get_data(as_text=True)


def test_error_with_a_bad_state_is_a_state_error(launcher) -> None:
    launcher.authorize(iss=ISS, launch="l")
    response = launcher.callback({"state": "forged", "error": "access_denied"})
    assert response.status_code == 400


def test_callback_without_code(launcher) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    assert launcher.callback({"state": params["state"]}).status_code == 400


@pytest.mark.parametrize(
    "status, body",
    [
        (400, {"error": "invalid_grant", "error_description": "code expired"}),
        (401, {"error": "invalid_client"}),
        (500, {"error": "server_error"}),
        (200, {"token_type": "Bearer"}),  # no access_token
        (200, {"access_token": "AT-secret-x", "token_type": "mac"}),
    ],
)
def test_token_endpoint_error(status, body, launcher, auth_server, client) -> None:
    auth_server.token_error = (status, body)
    response = launcher.ehr_launch()
    assert response.status_code == 502
    text = response.get_data(as_text=True)
    assert "did not complete the sign-in" in text
    assert "AT-secret" not in text and "code expired" not in text
    assert_not_launched(client)


def test_code_is_bound_to_the_pkce_verifier(launcher, auth_server) -> None:
    params = launcher.authorize(iss=ISS, launch="l")
    auth_server.codes[params["code"]]["code_challenge"] = "not-the-challenge"
    assert launcher.callback(params).status_code == 502


def test_id_token_with_bad_signature_is_refused(launcher, auth_server, client) -> None:
    auth_server.id_token_key = RSAKey.generate_key(2048, parameters={"kid": "server-key-1"}, private=True)
    response = launcher.ehr_launch()
    assert response.status_code == 401
    assert "could not be verified" in response.get_data(as_text=True)
    assert_not_launched(client)


@pytest.mark.parametrize(
    "override",
    [
        {"nonce": "wrong-nonce"},
        {"aud": "someone-else"},
        {"iss": "https://other-issuer.example"},
        {"exp": 1_600_000_000},
        {"azp": "someone-else"},
    ],
)
def test_id_token_with_wrong_claims_is_refused(override, launcher, auth_server, client) -> None:
    auth_server.id_token_overrides = override
    assert launcher.ehr_launch().status_code == 401
    assert_not_launched(client)


def test_missing_nonce_is_refused(launcher, auth_server) -> None:
    auth_server.id_token_overrides = {"nonce": None}
    assert launcher.ehr_launch().status_code == 401


def test_missing_id_token_when_openid_granted_is_refused(launcher, auth_server) -> None:
    auth_server.sign_id_token = lambda nonce: ""  # type: ignore[method-assign]
    assert launcher.ehr_launch().status_code == 401


def test_unknown_kid_refetches_jwks_once(launcher, auth_server, server_key) -> None:
    assert launcher.ehr_launch().status_code == 302  # JWKS now cached
    rotated = RSAKey.generate_key(2048, parameters={"kid": "server-key-2"}, private=True)
    auth_server.key = auth_server.id_token_key = rotated
    assert launcher.ehr_launch().status_code == 302
    jwks_calls = [c for c in auth_server.rsps.calls if c.request.url.endswith("/jwks")]
    assert len(jwks_calls) == 2
