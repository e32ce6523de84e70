"""Issue 11: the standalone launch against a certified third-party OpenID provider
(oidc-provider 9.13.3 from npm) behind a SMART-configuration front: fhirUser from UserInfo,
prompt=consent for a refresh token, key rotation, a provider without refresh tokens, and a
confidential client using private_key_jwt (RS384) that gets ES256 id_tokens."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify, request
from joserfc.jwk import ECKey, RSAKey

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import ServerThread
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID = "fhir-rehab-oidc"
JWT_CLIENT_ID = "fhir-rehab-oidc-jwt"  # confidential: private_key_jwt
TOKEN_ISSUED = re.compile(r"^token-issued (\{.*\})$", re.M)
FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.I)


def provider_dir() -> Path:
    if shutil.which("node") is None:
        pytest.fail("node is needed for the oidc-provider test (scripts/test installs npm)")
    done = subprocess.run(  # noqa: S603
        [str(REPO / "scripts" / "fetch-oidc-provider")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    folder = Path(done.stdout.strip().splitlines()[-1])
    shutil.copy(REPO / "tests" / "openid" / "provider.mjs", folder / "provider.mjs")
    return folder


def new_key(kid: str) -> dict[str, Any]:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
    ).as_dict(private=True)


def new_ec_key(kid: str) -> dict[str, Any]:
    """The provider's P-256 key: it signs the ES256 id_tokens of the private_key_jwt client."""
    return ECKey.generate_key(
        "P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True
    ).as_dict(private=True)


class OidcProvider:
    def __init__(self, folder: Path, port: int, log_dir: Path) -> None:
        self.folder, self.port, self.config = folder, port, dict[str, Any]()
        self.log_path = log_dir / "provider.log"  # this module's run only
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **changes: Any) -> OidcProvider:
        self.stop()
        self.config.update(changes)
        env = {
            **os.environ,
            "OIDC_TEST_CONFIG": json.dumps({**self.config, "issuer": self.issuer, "port": self.port}),
        }
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            ["node", "provider.mjs"], cwd=self.folder, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        assert self._wait_ready(), "oidc-provider did not start"
        return self

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
                return True
            except requests.RequestException:
                time.sleep(0.1)
        return False

    def tokens_issued(self, client_id: str) -> list[dict[str, Any]]:
        """What the provider logged for each token it issued to `client_id` (provider.mjs)."""
        found = [json.loads(m) for m in TOKEN_ISSUED.findall(self.log_path.read_text())]
        return [entry for entry in found if entry["client"] == client_id]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            self.log.close()


def smart_front(fhir_base: str, provider: OidcProvider) -> Flask:
    """A FHIR base whose SMART configuration names the third-party provider's endpoints."""
    front = Flask("smart-front")

    @front.get("/fhir/.well-known/smart-configuration")
    def smart_configuration() -> Response:
        return jsonify(
            issuer=provider.issuer,
            jwks_uri=f"{provider.issuer}/jwks",
            authorization_endpoint=f"{provider.issuer}/auth",
            token_endpoint=f"{provider.issuer}/token",
            revocation_endpoint=f"{provider.issuer}/token/revocation",
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["none", "private_key_jwt"],
            token_endpoint_auth_signing_alg_values_supported=["RS384"],
            capabilities=[
                "launch-standalone",
                "client-public",
                "client-confidential-asymmetric",
                "sso-openid-connect",
                "permission-v2",
            ],
        )

    @front.route("/fhir", defaults={"path": ""}, methods=["GET", "POST", "PUT"])
    @front.route("/fhir/<path:path>", methods=["GET", "POST", "PUT"])
    def fhir(path: str) -> Response:
        answer = requests.request(
            request.method,
            f"{fhir_base}/{path}" if path else fhir_base,
            params=request.args,
            data=request.get_data(),
            headers={k: v for k, v in request.headers if k in ("Accept", "Content-Type", "Prefer")},
            timeout=20,
        )
        return Response(
            answer.content, status=answer.status_code, content_type=answer.headers.get("Content-Type")
        )

    return front


@pytest.fixture(scope="module")
def world(fhir_server, tmp_path_factory) -> Iterator[dict[str, Any]]:
    folder, tmp = provider_dir(), tmp_path_factory.mktemp("oidc")
    app_port, jwt_app_port, front_port = free_port(), free_port(), free_port()
    app_url, jwt_app_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{jwt_app_port}"
    iss = f"http://127.0.0.1:{front_port}/fhir"
    casey = FhirClient(fhir_server.base_url).create(
        {"resourceType": "Practitioner", "name": [{"given": ["Casey"], "family": "Coordinator"}]}
    )
    common = {
        "SECRET_KEY": "oidc-test",
        "ISS_ALLOWLIST": [iss],
        "STANDALONE_ROLE": "coordinator",
        "OPENID_PROMPT_CONSENT": True,
    }
    app = create_app(
        {**common, "SESSION_DIR": str(tmp / "sessions"), "CLIENT_ID": CLIENT_ID, "PUBLIC_URL": app_url}
    )
    client_key = tmp / "client-key.pem"  # the confidential app's private key
    client_key.write_bytes(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    jwt_app = create_app(
        {
            **common,
            "SESSION_DIR": str(tmp / "jwt-sessions"),
            "CLIENT_ID": JWT_CLIENT_ID,
            "CLIENT_PRIVATE_KEY_PATH": str(client_key),
            "CLIENT_KEY_ID": "app-key-1",
            "PUBLIC_URL": jwt_app_url,
        }
    )
    provider = OidcProvider(folder, free_port(), tmp)
    threads = [ServerThread(smart_front(fhir_server.base_url, provider), front_port).start()]
    threads.append(ServerThread(app, app_port).start())
    threads.append(ServerThread(jwt_app, jwt_app_port).start())
    try:
        # The confidential client is registered with the public JWKS the app publishes. By value:
        # oidc-provider refuses to fetch a jwks_uri on a loopback address (SSRF protection).
        published = requests.get(f"{jwt_app_url}/.well-known/jwks.json", timeout=10).json()
        provider.start(
            clientId=CLIENT_ID,
            redirectUri=f"{app_url}/launch/callback",
            keys=[new_key("key-1"), new_ec_key("ec-1")],
            jwtClient={
                "clientId": JWT_CLIENT_ID,
                "redirectUri": f"{jwt_app_url}/launch/callback",
                "jwks": published,
            },
            refresh=True,
            accessTokenTtl=60,
            fhirUser=f"{iss}/Practitioner/{casey.body['id']}",  # absolute, in UserInfo only
        )
        yield {"provider": provider, "iss": iss, "app_url": app_url, "jwt_app_url": jwt_app_url}
    finally:
        for thread in threads:
            thread.stop()
        provider.stop()


def standalone_launch(
    world: dict[str, Any], app_url: str | None = None
) -> tuple[requests.Session, requests.Response]:
    """Launch, sign in at the provider's own pages (login, then consent), back to the app."""
    http = requests.Session()
    page = http.get(
        f"{app_url or world['app_url']}/launch",
        params={"iss": world["iss"], "role": "coordinator"},
        timeout=30,
    )
    for fields in (  # the provider's login page, then its consent page
        {"prompt": "login", "login": "casey", "password": "any"},
        {"prompt": "consent"},
    ):
        action = FORM.search(page.text)
        assert action, page.text[:500]
        target = requests.compat.urljoin(page.url, html.unescape(action.group(1)))
        page = http.post(target, data=fields, timeout=30)
    return http, page


def test_standalone_launch_against_oidc_provider(world) -> None:
    http, page = standalone_launch(world)
    assert page.status_code == 200, page.text[:500]
    assert page.url.startswith(f"{world['app_url']}/worklist")
    signed_in = re.search(r"Signed in as ([^<]*)<", page.text)
    assert signed_in and signed_in.group(1) == "Casey Coordinator", page.text[-1500:]


def test_prompt_consent_gets_a_refresh_token_that_renews_the_access_token(world, caplog) -> None:
    caplog.set_level(logging.INFO)
    # 60 s access tokens and the default 60 s leeway: the first FHIR call refreshes.
    http, page = standalone_launch(world)
    assert page.status_code == 200 and page.url.startswith(f"{world['app_url']}/worklist")
    assert "access token refreshed" in caplog.text


def test_key_rotation_at_the_provider(world) -> None:
    world["provider"].start(
        keys=[new_key("key-2"), new_key("key-1-retired"), new_ec_key("ec-2")]
    )  # key-2 signs
    http, page = standalone_launch(world)
    assert page.status_code == 200 and page.url.startswith(f"{world['app_url']}/worklist"), page.text[:300]


def test_private_key_jwt_client_authentication_and_es256_id_tokens(world) -> None:
    """The confidential app signs its client assertion RS384 with its own key (registered with
    the provider as the app's published JWKS); the provider signs this client's id_tokens ES256."""
    http, page = standalone_launch(world, world["jwt_app_url"])
    assert page.status_code == 200, page.text[:500]
    assert page.url.startswith(f"{world['jwt_app_url']}/worklist")
    signed_in = re.search(r"Signed in as ([^<]*)<", page.text)
    assert signed_in and signed_in.group(1) == "Casey Coordinator", page.text[-1500:]
    issued = world["provider"].tokens_issued(JWT_CLIENT_ID)
    first = next(entry for entry in issued if entry["grant"] == "authorization_code")
    assert first["auth"] == "private_key_jwt" and first["assertionAlg"] == "RS384"
    assert first["idTokenAlg"] == "ES256"
    assert all(entry["auth"] == "private_key_jwt" and entry["assertionAlg"] == "RS384" for entry in issued)


def test_the_public_client_gets_rs256_id_tokens_without_a_client_assertion(world) -> None:
    http, page = standalone_launch(world)
    assert page.status_code == 200, page.text[:500]
    first = next(e for e in world["provider"].tokens_issued(CLIENT_ID) if e["grant"] == "authorization_code")
    assert first == {**first, "auth": "none", "assertionAlg": None, "idTokenAlg": "RS256"}


def test_a_provider_without_refresh_tokens_and_20_second_tokens(world, caplog) -> None:
    caplog.set_level(logging.INFO)
    world["provider"].start(refresh=False, accessTokenTtl=20)
    http, page = standalone_launch(world)
    assert page.status_code == 200 and page.url.startswith(f"{world['app_url']}/worklist"), page.text[:300]
    again = http.get(f"{world['app_url']}/worklist", timeout=30)
    assert again.status_code == 200  # the token is used until it really expires
    assert "access token refreshed" not in caplog.text
