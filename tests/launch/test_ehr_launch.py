"""EHR launch against a fake authorization server, for what the real sandbox cannot show: the
exact client assertion, token-response context the sandbox never sends, bad patient ids.
The plain launches per client type run against the sandbox (tests/web/test_launch_e2e.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from fhir_rehab.launch import LaunchContext
from fhir_rehab.launch.store import LAUNCH_KEY
from tests.launch.conftest import (
    CLIENT_ID,
    ISS,
    PATIENT,
    START,
    TOKEN_URL,
    LaunchActions,
)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_private_key_jwt_assertion(make_app, auth_server, tmp_path, clock) -> None:
    key = RSAKey.generate_key(2048, private=True)
    pem = tmp_path / "client.pem"
    pem.write_bytes(key.as_pem(private=True))
    app = make_app(CLIENT_PRIVATE_KEY_PATH=str(pem), CLIENT_KEY_ID="client-kid-1")
    client = app.test_client()
    actions = LaunchActions(client, auth_server)
    assert actions.ehr_launch().status_code == 302
    assert actions.ehr_launch().status_code == 302

    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    public = KeySet.import_key_set(jwks.get_json())
    assert "d" not in jwks.get_json()["keys"][0]  # never the private part
    jtis = set()
    for request in auth_server.token_requests:
        form = request["form"]
        assert form["client_assertion_type"] == ("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        assert "Authorization" not in request["headers"]
        token = jwt.decode(form["client_assertion"], public, algorithms=["RS384"])
        assert token.header["alg"] == "RS384"
        assert token.header["kid"] == "client-kid-1"
        claims = token.claims
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        assert claims["aud"] == TOKEN_URL
        assert claims["iat"] == int(clock())
        assert 0 < claims["exp"] - claims["iat"] <= 300
        jtis.add(claims["jti"])
    assert len(jtis) == 2


def test_jwks_is_404_without_a_key(client) -> None:
    assert client.get("/.well-known/jwks.json").status_code == 404


def test_standalone_launch_without_patient_goes_to_worklist(launcher, auth_server, client) -> None:
    auth_server.token_extra = {}
    done = launcher.callback(launcher.authorize(iss=ISS, role="coordinator"))
    assert done.headers["Location"] == "/worklist"
    assert client.get("/_test/whoami").get_json()["patient"] is None


def test_token_response_context_is_kept(launcher, auth_server, app, client) -> None:
    auth_server.token_extra = {
        "patient": PATIENT,
        "encounter": "e1",
        "need_patient_banner": False,
        "intent": "reconcile-medications",
        "smart_style_url": "https://ehr.example/style.json",
        "fhirContext": [{"reference": "CarePlan/cp1"}, "junk"],
    }
    launcher.ehr_launch()
    with client.session_transaction() as sess:
        launch = LaunchContext.from_session(sess[LAUNCH_KEY])
    assert launch.patient_id == PATIENT and launch.encounter_id == "e1"
    assert launch.fhir_user == "Practitioner/pr1"  # the verified id_token's claim, on the launch base
    assert launch.need_patient_banner is False
    assert launch.intent == "reconcile-medications"
    assert launch.smart_style_url == "https://ehr.example/style.json"
    assert launch.fhir_context == ({"reference": "CarePlan/cp1"},)
    assert launch.client_id == CLIENT_ID
    assert launch.expires_at == int(START) + 300
    assert launch.iss == ISS
    assert "patient/Observation.cruds" in launch.scopes


def test_unsafe_style_url_is_dropped(launcher, auth_server, client) -> None:
    auth_server.token_extra = {"patient": PATIENT, "smart_style_url": "javascript:alert(1)"}
    launcher.ehr_launch()
    with client.session_transaction() as sess:
        assert sess[LAUNCH_KEY]["smart_style_url"] is None


def test_malformed_patient_id_is_refused(launcher, auth_server) -> None:
    auth_server.token_extra = {"patient": "../Patient/p2"}
    assert launcher.ehr_launch().status_code == 502


def test_session_id_changes_at_sign_in(launcher, client) -> None:
    launcher.start(iss=ISS, launch="l1")
    before = client.get_cookie("fhir_rehab_session").value
    launcher.ehr_launch()
    assert client.get_cookie("fhir_rehab_session").value != before
