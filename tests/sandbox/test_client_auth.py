"""Token endpoint client authentication: private_key_jwt details (RFC 7523, SMART RS384)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from flask import Flask, jsonify
from joserfc.jwk import RSAKey

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import ServerThread
from ehr_sandbox.settings import ClientRegistration
from tests.sandbox.conftest import JWT, REDIRECT, Seeded, Smart, query_of

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def code_for(smart: Smart, client_id: str, patient_id: str) -> tuple[str, str]:
    verifier = generate_token(48)
    response = smart.authorize(smart.session(client_id), verifier, launch=smart.ehr_launch(patient_id))
    return query_of(response.headers["Location"])["code"], verifier


def exchange(smart: Smart, code: str, verifier: str, assertion: str) -> requests.Response:
    return requests.post(
        smart.token_url,
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def sign(key: RSAKey, smart: Smart, alg: str = "RS384") -> str:
    return private_key_jwt_sign(key, JWT, smart.token_url, alg=alg, header={"kid": "test-client-key"})


def test_a_replayed_client_assertion_is_invalid_client(
    smart: Smart, seeded: Seeded, client_key: RSAKey
) -> None:
    assertion = sign(client_key, smart)
    assert exchange(smart, *code_for(smart, JWT, seeded.patient_a), assertion).status_code == 200
    replay = exchange(smart, *code_for(smart, JWT, seeded.patient_a), assertion)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"


def test_rs256_assertion_is_refused(smart: Smart, seeded: Seeded, client_key: RSAKey) -> None:
    response = exchange(smart, *code_for(smart, JWT, seeded.patient_a), sign(client_key, smart, alg="RS256"))
    assert response.json()["error"] == "invalid_client"


def test_assertion_signed_by_an_unregistered_key_is_refused(smart: Smart, seeded: Seeded) -> None:
    stranger = RSAKey.generate_key(2048, private=True)
    response = exchange(smart, *code_for(smart, JWT, seeded.patient_a), sign(stranger, smart))
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


@pytest.fixture
def jwks_server(client_key: RSAKey) -> Iterator[str]:
    """The client's JWK Set served over HTTP, as an app's /.well-known/jwks.json would be."""
    app = Flask("jwks")
    app.add_url_rule(
        "/.well-known/jwks.json", "jwks", lambda: jsonify({"keys": [client_key.as_dict(private=False)]})
    )
    port = free_port()
    server = ServerThread(app, port).start()
    yield f"http://127.0.0.1:{port}/.well-known/jwks.json"
    server.stop()


def test_private_key_jwt_with_a_jwks_url(
    smart: Smart, seeded: Seeded, client_key: RSAKey, jwks_server: str
) -> None:
    smart.stack.register_client(
        ClientRegistration(JWT, [REDIRECT], auth_method="private_key_jwt", jwks_uri=jwks_server)
    )
    try:
        _, token = smart.login(JWT, patient_id=seeded.patient_a)
        assert token["patient"] == seeded.patient_a
    finally:  # back to the inline JWKS the other tests use
        smart.stack.register_client(
            ClientRegistration(
                JWT,
                [REDIRECT],
                auth_method="private_key_jwt",
                jwks={"keys": [client_key.as_dict(private=False)]},
            )
        )
