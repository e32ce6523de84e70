"""Issue 11, sessions: a new session id at every login (the first included), POST /logout ends
the session on the server and revokes the tokens, idle and absolute timeouts, and an EHR
launch without a patient is refused."""

from __future__ import annotations

import pytest

from fhir_rehab.launch.runtime import get_runtime
from tests.launch.conftest import AUTH_BASE, ISS, REVOKE_URL

COOKIE = "fhir_rehab_session"


def sid_of(response) -> str | None:
    for cookie in response.headers.getlist("Set-Cookie"):
        name, _, rest = cookie.partition("=")
        if name == COOKIE:
            return rest.split(";")[0]
    return None


def test_the_session_id_is_rotated_at_the_first_login(launcher, client) -> None:
    started = launcher.start(iss=ISS, launch="l1")
    before = sid_of(started)
    assert before
    params = launcher.server.approve(started.headers["Location"])
    done = launcher.callback(params)
    after = sid_of(done)
    assert after and after != before


def test_a_session_planted_before_the_launch_reads_nothing_after_it(launcher, app, client) -> None:
    started = launcher.start(iss=ISS, launch="l1")
    planted = sid_of(started)  # an attacker who fixed this id in the victim's browser
    launcher.callback(launcher.server.approve(started.headers["Location"]))
    assert client.get("/_test/whoami").status_code == 200  # the victim is signed in
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, planted)
    assert attacker.get("/_test/whoami").status_code == 401


def test_the_session_id_is_rotated_at_a_second_login(launcher, client) -> None:
    first = sid_of(launcher.ehr_launch())
    second = sid_of(launcher.ehr_launch("l2"))
    assert first and second and first != second


def logout(client, csrf: bool = True):
    token = client.get("/_test/csrf").get_data(as_text=True) if csrf else ""
    return client.post("/logout", data={"csrf_token": token})


def test_logout_ends_the_session_on_the_server_and_revokes_the_tokens(
    launcher, app, client, auth_server
) -> None:
    auth_server.discovery["revocation_endpoint"] = REVOKE_URL
    done = launcher.ehr_launch()
    copy = app.test_client()
    copy.set_cookie(COOKIE, sid_of(done))  # the same session id, e.g. a stolen cookie
    assert copy.get("/_test/whoami").status_code == 200
    refresh_token = next(iter(auth_server.refresh_tokens))
    response = logout(client)
    assert response.status_code == 200
    assert "signed out" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/_test/whoami").status_code == 401
    assert copy.get("/_test/whoami").status_code == 401
    hints = {r["token_type_hint"]: r["token"] for r in auth_server.revocations}
    assert hints["refresh_token"] == refresh_token
    assert "access_token" in hints
    assert auth_server.refresh_tokens == set()


def test_logout_without_a_revocation_endpoint_still_ends_the_session(launcher, client, auth_server) -> None:
    launcher.ehr_launch()
    assert logout(client).status_code == 200
    assert client.get("/_test/whoami").status_code == 401
    assert auth_server.revocations == []


def test_logout_when_revocation_fails_still_ends_the_session(launcher, client, auth_server) -> None:
    auth_server.discovery["revocation_endpoint"] = f"{AUTH_BASE}/revoke-broken"  # not answered
    launcher.ehr_launch()
    assert logout(client).status_code == 200
    assert client.get("/_test/whoami").status_code == 401


def test_logout_needs_the_csrf_token(launcher, client) -> None:
    launcher.ehr_launch()
    assert logout(client, csrf=False).status_code == 400
    assert client.get("/_test/whoami").status_code == 200


def test_logout_by_get_is_not_allowed(launcher, client) -> None:
    launcher.ehr_launch()
    assert client.get("/logout").status_code == 405
    assert client.get("/_test/whoami").status_code == 200


@pytest.fixture
def short_app(make_app):
    return make_app(SESSION_IDLE_TIMEOUT_SECONDS=600, SESSION_LIFETIME_SECONDS=3600)


@pytest.fixture
def short_launcher(short_app, auth_server):
    from tests.launch.conftest import LaunchActions

    return LaunchActions(short_app.test_client(), auth_server)


def test_an_idle_session_ends(short_launcher, clock) -> None:
    short_launcher.ehr_launch()
    clock.advance(601)
    response = short_launcher.get("/_test/whoami")
    assert response.status_code == 401
    assert "without activity" in response.get_data(as_text=True)
    assert short_launcher.get("/_test/whoami").status_code == 401  # and it stays ended


def test_activity_keeps_a_session_alive_until_its_absolute_lifetime(
    short_launcher, clock, auth_server
) -> None:
    auth_server.valid_access_tokens.clear()  # no FHIR call here: whoami reads the session only
    short_launcher.ehr_launch()
    for _ in range(6):
        clock.advance(590)
        assert short_launcher.get("/_test/whoami").status_code == 200
    clock.advance(590)  # 4130 s after the login: past the 3600 s lifetime
    response = short_launcher.get("/_test/whoami")
    assert response.status_code == 401
    assert "signed in for" in response.get_data(as_text=True)


def test_an_ehr_launch_without_a_patient_is_refused(launcher, client, auth_server, caplog) -> None:
    del auth_server.token_extra["patient"]
    response = launcher.ehr_launch()
    assert response.status_code == 502
    assert "/worklist" not in response.headers.get("Location", "")
    assert "did not say which patient" in response.get_data(as_text=True)
    assert client.get("/_test/whoami").status_code == 401
    assert "no patient in the token response" in caplog.text


def test_the_runtime_clock_is_the_tests(short_app, clock) -> None:
    assert get_runtime(short_app).clock is clock
