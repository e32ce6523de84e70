"""Settings: defaults, then FHIR_REHAB_* environment variables, then the mapping a caller passes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

# Every setting the app reads, with its default. Environment: FHIR_REHAB_<NAME>.
DEFAULTS: dict[str, Any] = {
    # Flask
    "SECRET_KEY": None,  # unset: one key kept in SECRET_KEY_FILE, shared by every worker
    "SECRET_KEY_FILE": None,  # default: <instance path>/secret_key (created 0600 on first start)
    "SESSION_COOKIE_NAME": "fhir_rehab_session",
    # Server-side session store: filesystem by default, Redis when SESSION_REDIS_URL is set.
    "SESSION_DIR": None,  # default: <instance path>/sessions
    "SESSION_REDIS_URL": None,
    "SESSION_LIFETIME_SECONDS": 8 * 3600,  # absolute: a launch lasts at most this long
    "SESSION_IDLE_TIMEOUT_SECONDS": 30 * 60,  # signed out after this long without a request
    # SMART launch
    "ISS_ALLOWLIST": [],  # FHIR base URLs the app accepts as `iss`
    "EHR_ORIGINS": [],  # origins allowed to frame the app (CSP frame-ancestors); default: the iss origins
    "DEFAULT_ISS": None,  # standalone launch without ?iss=
    "CLIENT_ID": "fhir-rehab",
    "CLIENT_SECRET": None,  # set for a confidential client using client_secret_basic
    "CLIENT_PRIVATE_KEY_PATH": None,  # PEM, for private_key_jwt (RS384)
    "CLIENT_KEY_ID": None,
    "REQUIRE_PKCE_S256": True,
    "PUBLIC_URL": None,  # the app's external base URL, for the redirect_uri; default: request host
    "DISCOVERY_TTL_SECONDS": 300,
    # SMART Backend Services, per FHIR base, used ONLY to put a program on hold after a
    # patient's positive self-check (launch/backend.py; README "The patient's own pages"):
    # {"<FHIR base>": {"client_id": "...", "private_key_path": "...", "alg": "RS384|ES384",
    #  "key_id": "...", "token_endpoint": "... (default: from the base's SMART configuration)"}}
    "BACKEND_SERVICES": {},
    # FHIR
    "FHIR_TIMEOUT_SECONDS": 20.0,
    "SCREEN_MAX_AGE_DAYS": 7,  # start and resume need a red-flag screen this recent
    "STAGE_SCREEN_MAX_AGE_DAYS": 14,  # completing a stage needs a red-flag screen this recent
    "WORKLIST_PAGE_SIZE": 20,  # Tasks per worklist page
    "WORKLIST_INDEX_DIR": None,  # the worklist's index of Tasks, one file per FHIR base (<instance>/worklist)
    # SMART launch client (fhir_rehab/launch)
    "LAUNCH_HTTP_TIMEOUT_SECONDS": 10.0,  # discovery, token and JWKS requests
    "STANDALONE_ROLE": "clinician",  # standalone launch without ?role=: clinician | coordinator
    "TOKEN_REFRESH_LEEWAY_SECONDS": 60,  # refresh the access token this long before it expires
    "ID_TOKEN_LEEWAY_SECONDS": 300,  # clock skew allowed on the id_token's iat/exp/nbf
    "OPENID_PROMPT_CONSENT": False,  # add prompt=consent when asking an OpenID provider for offline_access
    # CDS Hooks 2.0 service (fhir_rehab/cds). Trusted CDS clients, by JWT `iss`:
    # {"<iss>": {"jwks_url": "...", "jku": ["..."], "jwks": {...}, "fhir_servers": ["..."]}}
    "CDS_TRUSTED_CLIENTS": {},
    "CDS_STORE_DIR": None,  # jti, cards, feedback without Redis; default: "cds" beside SESSION_DIR
    "CDS_FHIR_TIMEOUT_SECONDS": 5.0,  # a hook must answer fast: reads from fhirServer give up sooner
    "CDS_JWT_MAX_LIFETIME_SECONDS": 600,  # refuse a client JWT whose exp lies further ahead
    "CDS_JWKS_TTL_SECONDS": 300,
    # The printed home-exercise handout (issue 12): who to contact, and a clinic's own picture or
    # video per exercise ({"<exercise key>": "https://..."}; printed as a QR code).
    "CLINIC_NAME": "",
    "CLINIC_PHONE": "",
    "CLINIC_MEDIA_URLS": {},
}

_TYPES: dict[str, type] = {
    "SESSION_LIFETIME_SECONDS": int,
    "SESSION_IDLE_TIMEOUT_SECONDS": int,
    "ID_TOKEN_LEEWAY_SECONDS": int,
    "TOKEN_REFRESH_LEEWAY_SECONDS": int,
    "DISCOVERY_TTL_SECONDS": int,
    "FHIR_TIMEOUT_SECONDS": float,
    "SCREEN_MAX_AGE_DAYS": int,
    "STAGE_SCREEN_MAX_AGE_DAYS": int,
    "WORKLIST_PAGE_SIZE": int,
    "CDS_FHIR_TIMEOUT_SECONDS": float,
    "CDS_JWT_MAX_LIFETIME_SECONDS": int,
    "CDS_JWKS_TTL_SECONDS": int,
}
_BOOLS = {"REQUIRE_PKCE_S256", "OPENID_PROMPT_CONSENT"}
_LISTS = {"ISS_ALLOWLIST", "EHR_ORIGINS"}
_JSON = {"CDS_TRUSTED_CLIENTS", "CLINIC_MEDIA_URLS", "BACKEND_SERVICES"}


def _parse(name: str, raw: str) -> Any:
    if name in _BOOLS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name in _JSON:
        return json.loads(raw)
    if name in _LISTS:
        raw = raw.strip()
        return json.loads(raw) if raw.startswith("[") else [p for p in raw.split() if p]
    if name in _TYPES:
        return _TYPES[name](raw)
    return raw


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, then `FHIR_REHAB_*` from the environment, then `overrides`.

    >>> load_settings({"SCREEN_MAX_AGE_DAYS": 7}, environ={})["SCREEN_MAX_AGE_DAYS"]
    7
    >>> load_settings(environ={"FHIR_REHAB_ISS_ALLOWLIST": "http://a http://b"})["ISS_ALLOWLIST"]
    ['http://a', 'http://b']
    """
    env = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for name in DEFAULTS:
        value = env.get(f"FHIR_REHAB_{name}")
        if value is not None:
            settings[name] = _parse(name, value)
    settings.update(overrides or {})
    return settings
