"""Discovery documents: SMART configuration, OpenID configuration, JWKS, SMART style. Pure."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey

# SMART App Launch 2.0 "Capability Sets" this sandbox implements.
CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-standalone-patient",
    "context-banner",
    "context-style",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "permission-offline",
    "permission-online",
    "sso-openid-connect",
]
SCOPES_SUPPORTED = [
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.cruds",
    "user/*.cruds",
    "patient/*.read",
    "patient/*.write",
    "user/*.read",
    "user/*.write",
    "patient/*.*",
    "user/*.*",
    "system/*.cruds",  # SMART Backend Services (client_credentials)
]
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"]
TOKEN_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]
# A SMART style document (App Launch 2.0 "Styling"): the EHR's look, for embedded apps.
SMART_STYLE = {
    "color_background": "#f6f7f9",
    "color_error": "#a4262c",
    "color_highlight": "#0b5cad",
    "color_modal_backdrop": "rgba(0, 0, 0, 0.4)",
    "color_success": "#107c10",
    "color_text": "#1b1b1b",
    "dim_border_radius": "4px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, sans-serif",
    "font_family_heading": "system-ui, sans-serif",
}
SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
RESTFUL_SECURITY = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def smart_configuration(issuer: str, authorize_url: str, token_url: str, jwks_url: str) -> dict[str, Any]:
    """`[iss]/.well-known/smart-configuration` (SMART App Launch 2.0, "Metadata")."""
    return {
        "issuer": issuer,
        "jwks_uri": jwks_url,
        "authorization_endpoint": authorize_url,
        "token_endpoint": token_url,
        "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": GRANT_TYPES,
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def openid_configuration(issuer: str, authorize_url: str, token_url: str, jwks_url: str) -> dict[str, Any]:
    """`[iss]/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, 3)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": authorize_url,
        "token_endpoint": token_url,
        "jwks_uri": jwks_url,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"],
    }


def public_jwks(key: RSAKey) -> dict[str, Any]:
    """The sandbox's public signing key as a JWK Set (never the private parts)."""
    jwk = key.as_dict(private=False)
    jwk.update({"use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def add_smart_security(capability: dict[str, Any], authorize_url: str, token_url: str) -> dict[str, Any]:
    """Announce SMART on the proxied CapabilityStatement (`rest.security`, oauth-uris)."""
    security = {
        "service": [{"coding": [{"system": RESTFUL_SECURITY, "code": "SMART-on-FHIR"}]}],
        "extension": [
            {
                "url": SMART_OAUTH_URIS,
                "extension": [
                    {"url": "authorize", "valueUri": authorize_url},
                    {"url": "token", "valueUri": token_url},
                ],
            }
        ],
    }
    for rest in capability.get("rest") or []:
        if rest.get("mode") == "server":
            rest["security"] = security
    return capability
