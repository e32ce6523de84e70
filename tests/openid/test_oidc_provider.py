"""Issue 11: the standalone launch against a certified third-party OpenID provider
(oidc-provider 9.13.3 from npm) behind a SMART-configuration front: fhirUser from UserInfo,
prompt=consent for a refresh token, key rotation, and a provider without refresh tokens."""

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
from joserfc.jwk import RSAKey

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import ServerThread
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID = "fhir-rehab-oidc"
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


class OidcProvider:
    def __init__(self, folder: Path, port: int, **config: Any) -> None:
        self.folder, self.port, self.config = folder, port, config
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
        self.log = (self.folder / f"provider-{self.port}.log").open("ab")
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
            capabilities=["launch-standalone", "client-public", "sso-openid-connect", "permission-v2"],
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
def world(fhir_server) -> Iterator[dict[str, Any]]:
    folder = provider_dir()
    app_port, front_port = free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    iss = f"http://127.0.0.1:{front_port}/fhir"
    casey = FhirClient(fhir_server.base_url).create(
        {"resourceType": "Practitioner", "name": [{"given": ["Casey"], "family": "Coordinator"}]}
    )
    provider = OidcProvider(
        folder,
        free_port(),
        clientId=CLIENT_ID,
        redirectUri=f"{app_url}/launch/callback",
        keys=[new_key("key-1")],
        refresh=True,
        accessTokenTtl=60,
        fhirUser=f"{iss}/Practitioner/{casey.body['id']}",  # absolute, in UserInfo only
    ).start()
    app = create_app(
        {
            "SECRET_KEY": "oidc-test",
            "SESSION_DIR": str(folder / f"sessions-{app_port}"),
            "ISS_ALLOWLIST": [iss],
            "CLIENT_ID": CLIENT_ID,
            "PUBLIC_URL": app_url,
            "STANDALONE_ROLE": "coordinator",
            "OPENID_PROMPT_CONSENT": True,
        }
    )
    threads = [ServerThread(smart_front(fhir_server.base_url, provider), front_port).start()]
    threads.append(ServerThread(app, app_port).start())
    try:
        yield {"provider": provider, "iss": iss, "app_url": app_url}
    finally:
        for thread in threads:
            thread.stop()
        provider.stop()


def standalone_launch(world: dict[str, Any]) -> tuple[requests.Session, requests.Response]:
    """Launch, sign in at the provider's own pages (login, then consent), back to the app."""
    http = requests.Session()
    page = http.get(
        f"{world['app_url']}/launch", params={"iss": world["iss"], "role": "coordinator"}, timeout=30
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
    world["provider"].start(keys=[new_key("key-2"), new_key("key-1-retired")])  # signs with key-2
    http, page = standalone_launch(world)
    assert page.status_code == 200 and page.url.startswith(f"{world['app_url']}/worklist"), page.text[:300]


def test_a_provider_without_refresh_tokens_and_20_second_tokens(world, caplog) -> None:
    caplog.set_level(logging.INFO)
    world["provider"].start(refresh=False, accessTokenTtl=20)
    http, page = standalone_launch(world)
    assert page.status_code == 200 and page.url.startswith(f"{world['app_url']}/worklist"), page.text[:300]
    again = http.get(f"{world['app_url']}/worklist", timeout=30)
    assert again.status_code == 200  # the token is used until it really expires
    assert "access token refreshed" not in caplog.text
