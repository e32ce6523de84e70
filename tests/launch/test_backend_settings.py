"""The app's SMART Backend Services credential: checked at start-up, found per FHIR base."""

from __future__ import annotations

import pytest

from fhir_rehab import create_app
from fhir_rehab.launch.backend import (
    BACKEND_HOLD_SCOPES,
    BackendServiceFailed,
    BackendSettingsInvalid,
    BackendTokens,
    backend_credentials,
)


@pytest.mark.parametrize(
    "value",
    [
        ["not", "a", "mapping"],
        {"https://ehr/fhir": {"client_id": "c"}},  # no key
        {"https://ehr/fhir": {"client_id": "c", "private_key_path": "/k.pem", "alg": "RS256"}},
    ],
)
def test_a_malformed_backend_setting_stops_the_app_at_start(tmp_path, value):
    with pytest.raises(BackendSettingsInvalid):
        create_app({"SECRET_KEY": "t", "SESSION_DIR": str(tmp_path / "s"), "BACKEND_SERVICES": value})


def test_credentials_are_found_by_the_normalized_base():
    found = backend_credentials(
        {"BACKEND_SERVICES": {"HTTPS://EHR.example/fhir/": {"client_id": "c", "private_key_path": "/k"}}}
    )
    assert list(found) == ["https://ehr.example/fhir"] and found["https://ehr.example/fhir"].alg == "RS384"
    assert set(BACKEND_HOLD_SCOPES) == {
        "system/CarePlan.u",
        "system/Task.u",
        "system/ServiceRequest.u",
        "system/Goal.ru",
        "system/Provenance.c",
    }


def test_an_unreadable_key_fails_closed_before_any_request(tmp_path):
    (credential,) = backend_credentials(
        {
            "BACKEND_SERVICES": {
                "https://ehr/fhir": {"client_id": "c", "private_key_path": str(tmp_path / "none")}
            }
        }
    ).values()
    with pytest.raises(BackendServiceFailed):
        BackendTokens().token(credential, "http://127.0.0.1:9/token", clock=lambda: 0.0, timeout=1)
