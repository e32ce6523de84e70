"""GET /launch: iss allowlist, discovery, PKCE requirement and the scopes asked for."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from tests.launch.conftest import AUTHORIZE_URL, CLIENT_ID, ISS, LaunchActions


def query(response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def scopes_of(response) -> list[str]:
    return query(response)["scope"].split()


@pytest.mark.parametrize(
    "url",
    [
        "/launch?launch=abc",  # EHR launch without iss
        "/launch",  # bare standalone launch without DEFAULT_ISS
        "/launch?iss=",
        "/launch?iss=https://evil.example/fhir&launch=abc",
        "/launch?iss=https://ehr.example/fhir/r4/../../evil",
        "/launch?iss=https://ehr.example/fhir/r4.evil.example",
        "/launch?iss=javascript:alert(1)",
    ],
)
def test_missing_or_unknown_iss_is_an_error_page_never_a_redirect(url, client, auth_server) -> None:
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert not any("evil" in value for value in response.headers.values())
    body = response.get_data(as_text=True)
    assert "recognised EHR" in body
    assert "evil" not in body and "http-equiv" not in body
    assert not auth_server.rsps.calls  # nothing fetched from an unknown server


def test_trailing_slash_and_case_are_normalised(launcher) -> None:
    response = launcher.start(iss="HTTPS://EHR.EXAMPLE/fhir/r4/", launch="abc")
    assert response.status_code == 302
    assert query(response)["aud"] == ISS


def test_standalone_launch_with_iss_asks_for_a_patient(launcher) -> None:
    response = launcher.start(iss=ISS)
    assert response.status_code == 302
    params = query(response)
    scopes = params["scope"].split()
    assert "launch/patient" in scopes and "launch" not in scopes
    assert "launch" not in params
    assert params["aud"] == ISS


def test_bare_launch_uses_default_iss(make_app, auth_server) -> None:
    app = make_app(ISS_ALLOWLIST=[], DEFAULT_ISS=ISS)
    actions = LaunchActions(app.test_client(), auth_server)
    params = actions.authorize()
    assert actions.callback(params).headers["Location"] == "/patient"


def test_coordinator_standalone_scopes(launcher, auth_server) -> None:
    response = launcher.start(iss=ISS, role="coordinator")
    scopes = scopes_of(response)
    assert scopes == [
        "openid",
        "fhirUser",
        "offline_access",
        "user/Task.rs",
        "user/Task.u",
        "user/Task.c",
        "user/Patient.rs",
        "user/CarePlan.rs",
        "user/Observation.rs",
        "user/Provenance.crs",
        "user/Practitioner.rs",
        "user/ServiceRequest.rs",
    ]
    auth_server.token_extra = {}
    done = launcher.callback(auth_server.approve(response.headers["Location"]))
    assert done.headers["Location"] == "/worklist"


def test_coordinator_role_from_settings(make_app, auth_server) -> None:
    app = make_app(STANDALONE_ROLE="coordinator")
    response = LaunchActions(app.test_client(), auth_server).start(iss=ISS)
    assert "user/Task.rs" in scopes_of(response)


def test_ehr_launch_request_exactly(launcher) -> None:
    response = launcher.start(iss=ISS, launch="l")
    params = query(response)
    assert response.headers["Location"].startswith(AUTHORIZE_URL + "?")
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["aud"] == ISS and params["launch"] == "l"
    assert params["redirect_uri"] == "http://localhost/launch/callback"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 22 and params["nonce"]
    assert scopes_of(response) == [
        "launch",
        "openid",
        "fhirUser",
        "offline_access",
        "patient/Patient.rs",
        "patient/Condition.rs",
        "patient/Observation.cruds",
        "patient/QuestionnaireResponse.crs",
        "patient/CarePlan.cruds",
        "patient/Task.cruds",
        "patient/Goal.cruds",
        "patient/Provenance.cr",
        "patient/ServiceRequest.cruds",
        "patient/DocumentReference.cr",
        "user/Practitioner.rs",
        "patient/Encounter.rs",
        "user/PractitionerRole.rs",
        "user/Organization.rs",
    ]


def test_v1_scopes_when_server_lacks_permission_v2(launcher, auth_server) -> None:
    auth_server.discovery["capabilities"] = ["launch-ehr", "permission-v1"]
    scopes = scopes_of(launcher.start(iss=ISS, launch="l"))
    assert "patient/Condition.read" in scopes
    assert "patient/CarePlan.write" in scopes and "patient/CarePlan.read" in scopes
    assert not any(s.endswith((".rs", ".cruds", ".cr")) for s in scopes)


def test_server_without_s256_is_refused(launcher, auth_server) -> None:
    auth_server.discovery["code_challenge_methods_supported"] = ["plain"]
    response = launcher.start(iss=ISS, launch="l")
    assert response.status_code == 502
    assert "Location" not in response.headers
    assert "PKCE" in response.get_data(as_text=True)


def test_without_s256_allowed_when_not_required(make_app, auth_server) -> None:
    auth_server.discovery.pop("code_challenge_methods_supported")
    app = make_app(REQUIRE_PKCE_S256=False)
    actions = LaunchActions(app.test_client(), auth_server)
    params = actions.authorize(iss=ISS, launch="l")
    assert "code_challenge" not in auth_server.codes[params["code"]]
    assert actions.callback(params).status_code == 302
    assert "code_verifier" not in auth_server.token_requests[0]["form"]


def test_public_url_sets_redirect_uri(make_app, auth_server) -> None:
    app = make_app(PUBLIC_URL="https://rehab.example/app/")
    client = app.test_client()
    response = client.get(f"/launch?iss={ISS}&launch=l", base_url="https://rehab.example")
    assert query(response)["redirect_uri"] == "https://rehab.example/app/launch/callback"


def test_each_launch_has_fresh_state_nonce_and_challenge(launcher) -> None:
    first, second = (query(launcher.start(iss=ISS, launch="l")) for _ in range(2))
    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "body": "oops"},
        {"status": 404, "body": "not found"},
        {"status": 200, "body": "<html>not json</html>"},
        {"status": 200, "body": '{"authorization_endpoint": "https://auth.example/a"}'},
        {
            "status": 200,
            "body": '{"authorization_endpoint": "http://auth.example/a",'
            ' "token_endpoint": "http://auth.example/t"}',
        },
        {"body": requests.ConnectTimeout("slow")},
    ],
)
def test_discovery_failure_is_a_friendly_page(failure, client) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{ISS}/.well-known/smart-configuration", **failure)
        response = client.get(f"/launch?iss={ISS}&launch=l")
    assert response.status_code == 502
    assert "Location" not in response.headers
    assert "sign-in service" in response.get_data(as_text=True)


def test_discovery_is_cached_for_the_ttl(make_app, auth_server, clock) -> None:
    app = make_app(DISCOVERY_TTL_SECONDS=60)
    actions = LaunchActions(app.test_client(), auth_server)

    def discovery_calls() -> int:
        return sum(1 for c in auth_server.rsps.calls if "smart-configuration" in c.request.url)

    actions.start(iss=ISS, launch="a")
    actions.start(iss=ISS, launch="b")
    assert discovery_calls() == 1
    clock.advance(61)
    actions.start(iss=ISS, launch="c")
    assert discovery_calls() == 2


def test_overlong_launch_parameter_is_refused(client, auth_server) -> None:
    response = client.get(f"/launch?iss={ISS}&launch={'x' * 3000}")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_a_server_without_transactions_is_refused_in_plain_words(launcher, auth_server) -> None:
    statement = {
        "resourceType": "CapabilityStatement",
        "rest": [
            {
                "mode": "server",
                "interaction": [{"code": "batch"}],
                "resource": [{"type": "Task", "conditionalCreate": False}],
            }
        ],
    }
    auth_server.rsps.add(responses.GET, f"{ISS}/metadata", json=statement)
    response = launcher.start(iss=ISS, launch="abc")
    assert response.status_code == 502 and "Location" not in response.headers
    body = response.get_data(as_text=True)
    assert "saving several changes together" in body and "repeated save of a Task" in body
    assert "nothing was read or saved" in body
    launcher.start(iss=ISS, launch="abc")  # read once: the second launch uses the cached statement
    assert [c.request.url for c in auth_server.rsps.calls].count(f"{ISS}/metadata") == 1
