"""Tokens stay on the server: never in a cookie, a page or a log; cookie flags per transport."""

from __future__ import annotations

import logging

import pytest

from tests.launch.conftest import ISS, LaunchActions


def secrets_of(auth_server) -> set[str]:
    return {*auth_server.valid_access_tokens, *auth_server.refresh_tokens}


def set_cookies(responses_) -> list[str]:
    return [c for r in responses_ for c in r.headers.getlist("Set-Cookie")]


def test_no_token_in_cookies_pages_or_logs(launcher, auth_server, client, clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    params = launcher.authorize(iss=ISS, launch="l")
    launcher.callback(params)
    clock.advance(250)
    launcher.get("/_test/patient-id")  # refreshes
    launcher.get("/_test/whoami")
    auth_server.fhir_rejects_all = True
    launcher.get("/_test/patient-id")  # relaunch page
    launcher.get("/_test/patient-id", headers={"Accept": "application/json"})

    secrets = secrets_of(auth_server)
    assert len(secrets) == 6  # launch, refresh before expiry, refresh after a 401
    verifier_and_code = {params["code"]}
    pages = [r.get_data(as_text=True) for r in launcher.responses]
    cookies = set_cookies(launcher.responses)
    assert cookies
    for secret in secrets | verifier_and_code:
        assert not any(secret in page for page in pages)
        assert not any(secret in cookie for cookie in cookies)
        assert secret not in caplog.text
    # The cookie is the opaque, signed session id and nothing else.
    for cookie in cookies:
        name, _, rest = cookie.partition("=")
        assert name == "fhir_rehab_session"
        assert len(rest.split(";")[0]) < 100


def test_id_token_and_verifier_are_not_kept_anywhere_visible(launcher, auth_server, client) -> None:
    launcher.ehr_launch()
    with client.session_transaction() as sess:
        assert "smart_pending" not in sess  # verifier and nonce are gone after use
        assert "id_token" not in str(dict(sess))


def session_cookies(responses_) -> list[str]:
    """The session cookies set; at least one must be (a test of flags on no cookie proves nothing)."""
    cookies = set_cookies(responses_)
    assert cookies, "no cookie was set"
    assert all(cookie.startswith("fhir_rehab_session=") for cookie in cookies)
    return cookies


def test_cookie_flags_over_http(launcher) -> None:
    launcher.ehr_launch()
    for cookie in session_cookies(launcher.responses):
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags
        assert "samesite=lax" in flags
        assert "secure" not in flags
        assert "partitioned" not in flags


def test_cookie_flags_over_https(make_app, auth_server) -> None:
    app = make_app(PUBLIC_URL="https://rehab.example")
    client = app.test_client()
    response = client.get(f"/launch?iss={ISS}&launch=l", base_url="https://rehab.example")
    params = auth_server.approve(response.headers["Location"])
    done = client.get("/launch/callback", query_string=params, base_url="https://rehab.example")
    assert done.status_code == 302
    for cookie in session_cookies([response, done]):
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags
        assert "secure" in flags
        assert "samesite=none" in flags
        assert "partitioned" in flags  # CHIPS: kept inside the EHR's iframe
    assert client.get("/_test/whoami", base_url="https://rehab.example").status_code == 200


@pytest.mark.parametrize(
    "public_url, secure", [("https://a.example", True), ("http://localhost:5000", False), (None, False)]
)
def test_cookie_config_follows_public_url(make_app, public_url, secure) -> None:
    app = make_app(PUBLIC_URL=public_url)
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == ("None" if secure else "Lax")


def test_a_launch_in_one_browser_is_not_visible_in_another(launcher, app, auth_server) -> None:
    launcher.ehr_launch()
    other = LaunchActions(app.test_client(), auth_server)
    assert other.get("/_test/whoami").status_code == 401
