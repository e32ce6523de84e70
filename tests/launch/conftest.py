"""Launch test fixtures: a fake SMART authorization server (responses) and an EHR-launch helper."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import responses
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask
from joserfc import jwt
from joserfc.jwk import RSAKey

from fhir_rehab import create_app
from fhir_rehab.launch import current_launch, fhir_client_for_launch, require_launch
from fhir_rehab.launch.runtime import get_runtime

ISS = "https://ehr.example/fhir/r4"
AUTH_BASE = "https://auth.example"
AUTHORIZE_URL = f"{AUTH_BASE}/authorize"
TOKEN_URL = f"{AUTH_BASE}/token"
JWKS_URL = f"{AUTH_BASE}/jwks"
REVOKE_URL = f"{AUTH_BASE}/revoke"
CLIENT_ID = "rehab-test-client"
PATIENT = "p1"
START = 1_700_000_000.0


class FakeClock:
    """Injected time: tests move it, nothing sleeps."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeAuthServer:
    """A SMART authorization server faked at the transport: discovery, token, JWKS, FHIR reads."""

    def __init__(self, rsps: responses.RequestsMock, key: RSAKey, clock: FakeClock) -> None:
        self.rsps, self.key, self.clock = rsps, key, clock
        self.discovery: dict[str, Any] = {
            "issuer": AUTH_BASE,
            "jwks_uri": JWKS_URL,
            "authorization_endpoint": AUTHORIZE_URL,
            "token_endpoint": TOKEN_URL,
            "capabilities": [
                "launch-ehr",
                "launch-standalone",
                "context-ehr-patient",
                "client-public",
                "sso-openid-connect",
                "permission-v2",
                "permission-v1",
                "authorize-post",
            ],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.refresh_requests: list[dict[str, Any]] = []
        self.valid_access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.token_extra: dict[str, Any] = {
            "patient": PATIENT,
            "encounter": "e1",
            "need_patient_banner": True,
        }
        self.id_token_overrides: dict[str, Any] = {}
        self.id_token_key: RSAKey | None = None  # sign with another key (bad signature)
        self.token_error: tuple[int, dict[str, Any]] | None = None
        self.refresh_error: tuple[int, dict[str, Any]] | None = None
        self.on_refresh: Callable[[], None] | None = None
        self.revocations: list[dict[str, Any]] = []
        self.fhir_rejects_all = False
        self._seq = itertools.count(1)

    def install(self) -> None:
        self.rsps.add_callback(
            responses.GET,
            f"{ISS}/.well-known/smart-configuration",
            callback=lambda req: (200, {}, json.dumps(self.discovery)),
        )
        self.rsps.add_callback(
            responses.GET,
            JWKS_URL,
            callback=lambda req: (200, {}, json.dumps({"keys": [self.key.as_dict(private=False)]})),
        )
        self.rsps.add_callback(responses.POST, TOKEN_URL, callback=self._token)
        self.rsps.add_callback(responses.POST, REVOKE_URL, callback=self._revoke)
        self.rsps.add_callback(responses.GET, f"{ISS}/Patient/{PATIENT}", callback=self._patient)

    # -- the authorization endpoint, driven by the test (the browser step) ------------------
    def approve(self, location: str) -> dict[str, str]:
        """The user approves: remember the request, return the callback's query parameters."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        code = f"code-{next(self._seq)}"
        self.codes[code] = query
        return {"code": code, "state": query["state"]}

    # -- token endpoint ---------------------------------------------------------------------
    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = {k: v[0] for k, v in parse_qs(request.body or "").items()}
        record = {"form": form, "headers": dict(request.headers)}
        if form.get("grant_type") == "refresh_token":
            self.refresh_requests.append(record)
            if self.on_refresh:
                self.on_refresh()
            if self.refresh_error:
                return self.refresh_error[0], {}, json.dumps(self.refresh_error[1])
            if form.get("refresh_token") not in self.refresh_tokens:
                return 400, {}, json.dumps({"error": "invalid_grant"})
            return 200, {}, json.dumps(self._new_tokens(scope="refreshed"))
        self.token_requests.append(record)
        if self.token_error:
            return self.token_error[0], {}, json.dumps(self.token_error[1])
        authorized = self.codes.pop(form.get("code", ""), None)
        if authorized is None or authorized.get("redirect_uri") != form.get("redirect_uri"):
            return 400, {}, json.dumps({"error": "invalid_grant"})
        challenge = authorized.get("code_challenge")
        if challenge and create_s256_code_challenge(form.get("code_verifier", "")) != challenge:
            return 400, {}, json.dumps({"error": "invalid_grant"})
        body = self._new_tokens(scope=authorized["scope"])
        body.update(self.token_extra)
        if "openid" in authorized["scope"].split():
            body["id_token"] = self.sign_id_token(nonce=authorized.get("nonce"))
        return 200, {}, json.dumps(body)

    def _revoke(self, request: Any) -> tuple[int, dict[str, str], str]:
        """RFC 7009: the token is invalid from now on; 200 whatever it was."""
        form = {k: v[0] for k, v in parse_qs(request.body or "").items()}
        self.revocations.append(form)
        self.refresh_tokens.discard(form.get("token", ""))
        self.valid_access_tokens.discard(form.get("token", ""))
        return 200, {}, ""

    def _new_tokens(self, scope: str) -> dict[str, Any]:
        n = next(self._seq)
        access, refresh = f"AT-secret-{n}", f"RT-secret-{n}"
        self.valid_access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "refresh_token": refresh,
            "scope": scope,
        }

    def sign_id_token(self, nonce: str | None) -> str:
        now = int(self.clock())
        claims = {
            "iss": AUTH_BASE,
            "sub": "user-7",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "fhirUser": f"{ISS}/Practitioner/pr1",
        }
        claims.update(self.id_token_overrides)
        key = self.id_token_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def _patient(self, request: Any) -> tuple[int, dict[str, str], str]:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if self.fhir_rejects_all or token not in self.valid_access_tokens:
            return 401, {}, ""
        return 200, {}, json.dumps({"resourceType": "Patient", "id": PATIENT})


class LaunchActions:
    """Drives a whole launch through the app, like flaskr's AuthActions."""

    def __init__(self, client: Any, server: FakeAuthServer) -> None:
        self.client, self.server = client, server
        self.responses: list[Any] = []

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        self.responses.append(response)
        return response

    def start(self, **params: str) -> Any:
        return self.get("/launch" + (f"?{urlencode(params)}" if params else ""))

    def authorize(self, **params: str) -> dict[str, str]:
        """GET /launch, check it redirects to the authorization endpoint, approve."""
        response = self.start(**params)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.headers["Location"].startswith(AUTHORIZE_URL + "?")
        return self.server.approve(response.headers["Location"])

    def callback(self, params: dict[str, str]) -> Any:
        return self.get("/launch/callback?" + urlencode(params))

    def ehr_launch(self, launch: str = "xyz123") -> Any:
        return self.callback(self.authorize(iss=ISS, launch=launch))


@pytest.fixture(scope="session")
def server_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "server-key-1"}, private=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def auth_server(server_key: RSAKey, clock: FakeClock) -> Iterator[FakeAuthServer]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        server = FakeAuthServer(rsps, server_key, clock)
        server.install()
        yield server


@pytest.fixture
def make_app(tmp_path: Any, clock: FakeClock) -> Callable[..., Flask]:
    counter = itertools.count()

    def make(**overrides: Any) -> Flask:
        config = {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SESSION_DIR": str(tmp_path / f"sessions-{next(counter)}"),
            "ISS_ALLOWLIST": [ISS + "/"],
            "CLIENT_ID": CLIENT_ID,
            **overrides,
        }
        app = create_app(config)
        get_runtime(app).clock = clock
        add_test_views(app)
        return app

    return make


def add_test_views(app: Flask) -> None:
    """Pages standing in for the clinician and coordinator blueprints."""

    @app.get("/_test/patient-id")
    @require_launch
    def patient_id() -> str:
        launch = current_launch()
        assert launch is not None and launch.patient_id
        return str(fhir_client_for_launch().read("Patient", launch.patient_id)["id"])

    @app.get("/_test/whoami")
    @require_launch
    def whoami() -> dict[str, Any]:
        launch = current_launch()
        assert launch is not None
        return {
            "patient": launch.patient_id,
            "fhirUser": launch.fhir_user,
            "scopes": list(launch.scopes),
            "encounter": launch.encounter_id,
        }

    @app.get("/_test/csrf")
    def csrf_token() -> str:
        from flask_wtf.csrf import generate_csrf

        return str(generate_csrf())

    @app.get("/_test/boom")
    def boom() -> str:
        raise RuntimeError("secret detail AT-secret-1 for patient Jane Roe")


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def launcher(client: Any, auth_server: FakeAuthServer) -> LaunchActions:
    return LaunchActions(client, auth_server)
