"""Issue 11, OpenID interoperability: the access token is used until it really expires when it
cannot be refreshed, id_token clock leeway is a setting, fhirUser falls back to UserInfo and
resolves to a name, no identity means no authored writes, each failure logs its own reason,
and prompt=consent on request."""

from __future__ import annotations

import html
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses as rsps_lib
from flask import Flask
from joserfc.jwk import RSAKey

from fhir_rehab.launch import current_launch, fhir_client_for_launch
from fhir_rehab.web.actor import actor_for_launch
from tests.launch.conftest import AUTH_BASE, ISS, LaunchActions

USERINFO = f"{AUTH_BASE}/userinfo"


def add_actor_views(app: Flask) -> None:
    @app.get("/_test/actor")
    def actor() -> dict[str, Any]:
        launch = current_launch()
        assert launch is not None
        found = actor_for_launch(launch, fhir_client_for_launch())
        return {"reference": found.reference, "name": found.display}

    @app.get("/_test/write")
    def write() -> str:
        launch = current_launch()
        assert launch is not None
        actor_for_launch(launch, fhir_client_for_launch(), for_write=True)
        return "written"


@pytest.fixture
def app(make_app) -> Flask:
    app = make_app()
    add_actor_views(app)
    return app


def no_refresh_token(auth_server, expires_in: int) -> None:
    auth_server.token_extra.update(refresh_token=None, expires_in=expires_in)


def test_without_a_refresh_token_the_access_token_is_used_until_it_expires(
    launcher, auth_server, clock
) -> None:
    no_refresh_token(auth_server, expires_in=20)
    launcher.ehr_launch()
    assert launcher.get("/_test/patient-id").status_code == 200  # 20 s token: the first page works
    clock.advance(15)
    assert launcher.get("/_test/patient-id").status_code == 200
    assert auth_server.refresh_requests == []
    clock.advance(6)  # now really expired, and nothing can renew it
    response = launcher.get("/_test/patient-id")
    assert response.status_code == 401
    page = html.unescape(response.get_data(as_text=True))
    assert "Your access to the EHR has expired" in page and "no way to renew it" in page


def test_with_a_refresh_token_the_leeway_still_refreshes_early(launcher, auth_server, clock) -> None:
    launcher.ehr_launch()
    clock.advance(250)  # 300 s token, 60 s leeway
    assert launcher.get("/_test/patient-id").status_code == 200
    assert len(auth_server.refresh_requests) == 1


def test_an_id_token_issued_two_minutes_ahead_is_accepted_by_default(launcher, auth_server, clock) -> None:
    auth_server.id_token_overrides = {"iat": int(clock()) + 120, "nbf": int(clock()) + 120}
    assert launcher.ehr_launch().status_code == 302


def test_the_id_token_leeway_is_a_setting(make_app, auth_server, clock, caplog) -> None:
    launcher = LaunchActions(make_app(ID_TOKEN_LEEWAY_SECONDS=60).test_client(), auth_server)
    auth_server.id_token_overrides = {"iat": int(clock()) + 120}
    assert launcher.ehr_launch().status_code == 401
    assert "issued in the future" in caplog.text


def userinfo(auth_server, claims: dict[str, Any]) -> None:
    auth_server.rsps.add(rsps_lib.GET, USERINFO, json=claims)


def test_fhir_user_falls_back_to_userinfo_from_the_smart_configuration(launcher, auth_server, client) -> None:
    auth_server.discovery["userinfo_endpoint"] = USERINFO
    auth_server.id_token_overrides = {"fhirUser": None}
    userinfo(auth_server, {"sub": "user-7", "fhirUser": f"{ISS}/Practitioner/pr1", "name": "Jo Smith"})
    launcher.ehr_launch()
    assert client.get("/_test/whoami").get_json()["fhirUser"] == "Practitioner/pr1"


def test_fhir_user_falls_back_to_userinfo_from_the_openid_configuration(
    launcher, auth_server, client
) -> None:
    auth_server.id_token_overrides = {"fhirUser": None}
    auth_server.rsps.add(
        rsps_lib.GET, f"{AUTH_BASE}/.well-known/openid-configuration", json={"userinfo_endpoint": USERINFO}
    )
    userinfo(auth_server, {"sub": "user-7", "fhirUser": "Practitioner/pr1"})
    launcher.ehr_launch()
    assert client.get("/_test/whoami").get_json()["fhirUser"] == "Practitioner/pr1"
    assert auth_server.rsps.calls[-1].request.headers["Authorization"].startswith("Bearer AT-secret")


def test_userinfo_for_another_subject_is_ignored(launcher, auth_server, client, caplog) -> None:
    auth_server.discovery["userinfo_endpoint"] = USERINFO
    auth_server.id_token_overrides = {"fhirUser": None}
    userinfo(auth_server, {"sub": "someone-else", "fhirUser": "Practitioner/evil"})
    launcher.ehr_launch()
    assert client.get("/_test/whoami").get_json()["fhirUser"] is None
    assert "sub does not match" in caplog.text


def test_without_any_user_identity_writes_needing_an_author_are_refused(
    launcher, auth_server, client
) -> None:
    auth_server.id_token_overrides = {"fhirUser": None}
    launcher.ehr_launch()
    response = client.get("/_test/write")
    assert response.status_code == 403
    assert "did not say who you are" in response.get_data(as_text=True)
    assert client.get("/_test/actor").status_code == 200  # reading still works


def practitioner(auth_server, status: int = 200) -> None:
    body = {"resourceType": "Practitioner", "id": "pr1", "name": [{"given": ["Jo"], "family": "Smith"}]}
    auth_server.rsps.add(rsps_lib.GET, f"{ISS}/Practitioner/pr1", json=body, status=status)


@pytest.mark.parametrize("claim", [f"{ISS}/Practitioner/pr1", "Practitioner/pr1"])
def test_absolute_and_relative_fhir_user_resolve_to_a_name(launcher, auth_server, client, claim) -> None:
    auth_server.id_token_overrides = {"fhirUser": claim}
    practitioner(auth_server)
    launcher.ehr_launch()
    assert client.get("/_test/actor").get_json() == {"reference": "Practitioner/pr1", "name": "Jo Smith"}


def test_an_unreadable_practitioner_is_named_from_the_sign_in_never_by_its_url(
    launcher, auth_server, client
) -> None:
    auth_server.id_token_overrides = {"fhirUser": f"{ISS}/Practitioner/pr1", "name": "Dr Jo Smith"}
    practitioner(auth_server, status=403)
    launcher.ehr_launch()
    assert client.get("/_test/actor").get_json()["name"] == "Dr Jo Smith"


@pytest.mark.parametrize(
    "setup,reason",
    [
        (lambda s, c: s.id_token_overrides.update(iss="https://other-issuer.example"), "issuer mismatch"),
        (lambda s, c: s.discovery.pop("issuer"), "lists no issuer"),
        (lambda s, c: s.id_token_overrides.update(iat=int(c()) + 3600), "issued in the future"),
        (lambda s, c: s.id_token_overrides.update(exp=int(c()) - 3600), "expired"),
        (lambda s, c: s.id_token_overrides.update(aud="someone-else"), "audience mismatch"),
        (lambda s, c: s.id_token_overrides.update(nonce="other"), "nonce mismatch"),
        (
            lambda s, c: setattr(
                s, "id_token_key", RSAKey.generate_key(2048, {"kid": "server-key-1"}, private=True)
            ),
            "bad signature",
        ),
        (lambda s, c: setattr(s, "token_error", (400, {"error": "invalid_grant"})), "invalid_grant"),
        (lambda s, c: setattr(s, "token_error", (401, {"error": "invalid_client"})), "invalid_client"),
    ],
)
def test_each_launch_failure_logs_its_own_reason(launcher, auth_server, clock, caplog, setup, reason) -> None:
    caplog.set_level(logging.INFO)
    setup(auth_server, clock)
    assert launcher.ehr_launch().status_code >= 400
    assert reason in caplog.text


def authorize_query(make_app, auth_server, **settings: Any) -> dict[str, list[str]]:
    launcher = LaunchActions(make_app(**settings).test_client(), auth_server)
    location = launcher.start(iss=ISS, launch="l").headers["Location"]
    return parse_qs(urlsplit(location).query)


def test_prompt_consent_is_added_for_offline_access_when_set(make_app, auth_server) -> None:
    assert authorize_query(make_app, auth_server, OPENID_PROMPT_CONSENT=True)["prompt"] == ["consent"]
    assert "prompt" not in authorize_query(make_app, auth_server)


def test_the_settings_are_read_from_the_environment(monkeypatch) -> None:
    from fhir_rehab.config import load_settings

    settings = load_settings(
        environ={"FHIR_REHAB_ID_TOKEN_LEEWAY_SECONDS": "120", "FHIR_REHAB_OPENID_PROMPT_CONSENT": "true"}
    )
    assert settings["ID_TOKEN_LEEWAY_SECONDS"] == 120 and settings["OPENID_PROMPT_CONSENT"] is True
    json.dumps(settings, default=str)
