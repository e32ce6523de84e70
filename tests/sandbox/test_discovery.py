"""Discovery: SMART configuration, OpenID configuration, JWKS."""

from __future__ import annotations

import requests

from tests.sandbox.conftest import Smart

CAPABILITIES = {
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-standalone-patient",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
    "permission-offline",
}


def test_smart_configuration(smart: Smart) -> None:
    response = requests.get(f"{smart.stack.fhir_base}/.well-known/smart-configuration", timeout=10)
    assert response.status_code == 200
    config = response.json()
    root = smart.stack.sandbox_url
    assert config["issuer"] == smart.stack.fhir_base
    assert config["authorization_endpoint"] == f"{root}/auth/authorize"
    assert config["token_endpoint"] == f"{root}/auth/token"
    assert config["jwks_uri"].startswith(root)
    assert {"client_secret_basic", "private_key_jwt"} <= set(config["token_endpoint_auth_methods_supported"])
    assert set(config["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert "system/*.cruds" in config["scopes_supported"]  # SMART Backend Services
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["response_types_supported"] == ["code"]
    assert CAPABILITIES <= set(config["capabilities"])
    assert {"launch", "launch/patient", "openid", "fhirUser", "offline_access"} <= set(
        config["scopes_supported"]
    )


def test_openid_configuration_agrees_with_smart_configuration(smart: Smart) -> None:
    base = smart.stack.fhir_base
    smart_config = requests.get(f"{base}/.well-known/smart-configuration", timeout=10).json()
    oidc = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    for name in ("issuer", "jwks_uri", "authorization_endpoint", "token_endpoint"):
        assert oidc[name] == smart_config[name]
    assert oidc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_jwks_publishes_only_the_public_signing_key(smart: Smart) -> None:
    jwks = requests.get(f"{smart.stack.sandbox_url}/auth/jwks", timeout=10).json()
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["kid"] and key["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
