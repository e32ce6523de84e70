"""SMART Backend Services at the sandbox EHR: client_credentials with a private_key_jwt
assertion (RS384 or ES384), system scopes only, and a proxy that lets a system token do exactly
what its scopes say; a patient's token still changes nothing of the plan."""

from __future__ import annotations

import pytest
import requests
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import ECKey, RSAKey

from ehr_sandbox.errors import ConfigurationError
from ehr_sandbox.settings import ClientRegistration
from tests.sandbox.conftest import JWT, PUBLIC, Seeded, Smart
from tests.sandbox.test_patient_portal import patient_login, send

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HOLD_SCOPE = "system/CarePlan.u system/Task.u system/Goal.ru system/Provenance.c"
EC_BACKEND, RSA_BACKEND = "test-backend-ec", "test-backend-rsa"


@pytest.fixture(scope="module")
def keys(stack) -> dict[str, RSAKey | ECKey]:
    """Two backend clients registered with the EHR: one ES384 (EC P-384), one RS384."""
    ec = ECKey.import_key(ECKey.generate_key("P-384", private=True).as_dict(private=True, kid="ec-1"))
    rsa = RSAKey.import_key(RSAKey.generate_key(2048, private=True).as_dict(private=True, kid="rsa-1"))
    for client_id, key in ((EC_BACKEND, ec), (RSA_BACKEND, rsa)):
        stack.register_client(
            ClientRegistration(
                client_id,
                [],
                scope=HOLD_SCOPE,
                auth_method="private_key_jwt",
                jwks={"keys": [key.as_dict(private=False)]},
                grant_types=("client_credentials",),
            )
        )
    return {EC_BACKEND: ec, RSA_BACKEND: rsa}


def ask(
    smart: Smart, client_id: str, key, scope: str = HOLD_SCOPE, alg: str | None = None
) -> requests.Response:
    alg = alg or ("ES384" if isinstance(key, ECKey) else "RS384")
    header = {"kid": key.kid} if key.kid else {}
    assertion = private_key_jwt_sign(key, client_id, smart.token_url, alg=alg, header=header)
    return requests.post(
        smart.token_url,
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=10,
    )


@pytest.mark.parametrize("client_id", [EC_BACKEND, RSA_BACKEND])
def test_a_backend_client_gets_a_system_token_with_its_signed_assertion(smart, keys, client_id):
    answer = ask(smart, client_id, keys[client_id])
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"].lower() == "bearer" and token["scope"] == HOLD_SCOPE
    assert "refresh_token" not in token and "patient" not in token and "id_token" not in token


def test_what_a_backend_client_cannot_get(smart, keys):
    ec = keys[EC_BACKEND]
    cases = {
        "patient scopes": ask(smart, EC_BACKEND, ec, scope="patient/Task.rs"),
        "beyond its registration": ask(smart, EC_BACKEND, ec, scope="system/Patient.rs"),
        "no scope": ask(smart, EC_BACKEND, ec, scope=""),
        "RS256": ask(smart, RSA_BACKEND, keys[RSA_BACKEND], alg="RS256"),
        "someone else's key": ask(smart, EC_BACKEND, ECKey.generate_key("P-384", private=True)),
        "an app's launch client": ask(smart, JWT, smart.client_key),
    }
    for why, answer in cases.items():
        assert answer.status_code in (400, 401), why
        assert "access_token" not in answer.text, why
    assert cases["patient scopes"].json()["error"] == "invalid_scope"
    assert cases["beyond its registration"].json()["error"] == "invalid_scope"
    assert cases["an app's launch client"].json()["error"] == "unauthorized_client"
    public = requests.post(
        smart.token_url,
        data={"grant_type": "client_credentials", "scope": HOLD_SCOPE, "client_id": PUBLIC},
        timeout=10,
    )
    assert public.status_code in (400, 401) and "access_token" not in public.text


def test_a_system_token_does_exactly_what_its_scopes_say(smart, keys, stack, seeded: Seeded):
    token = ask(smart, EC_BACKEND, keys[EC_BACKEND]).json()["access_token"]
    subject = {"reference": f"Patient/{seeded.patient_a}"}
    plan = requests.post(
        f"{stack.backing_fhir_base}/CarePlan",
        json={"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": subject},
        timeout=10,
    ).json()
    url = f"{stack.fhir_base}/CarePlan/{plan['id']}"
    held = send("PUT", url, token, {**plan, "status": "on-hold"})
    assert held.status_code == 200, held.text
    assert requests.get(f"{stack.backing_fhir_base}/CarePlan/{plan['id']}", timeout=10).json()["status"] == (
        "on-hold"
    )
    # nothing its scopes do not name: no reads of the plan or the patient, no deletes, no new reports
    assert send("GET", url, token, {}).status_code == 403
    assert send("GET", f"{stack.fhir_base}/Patient/{seeded.patient_a}", token, {}).status_code == 403
    assert send("DELETE", url, token, {}).status_code == 403
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": subject}
    assert send("POST", f"{stack.fhir_base}/Observation", token, obs).status_code == 403

    # ... and the patient's own token still cannot change the plan, whatever it asks for
    patient = patient_login(smart, stack, seeded.patient_a)["access_token"]
    refused = send("PUT", url, patient, {**plan, "status": "active"})
    assert refused.status_code == 403 and "cannot change the care plan" in refused.text


@pytest.mark.parametrize(
    "options",
    [
        {"auth_method": "client_secret_basic", "client_secret": "x"},  # SMART: asymmetric only
        {"auth_method": "private_key_jwt", "jwks": {"keys": []}, "scope": "user/*.cruds"},
        {
            "auth_method": "private_key_jwt",
            "jwks": {"keys": []},
            "grant_types": ("client_credentials", "authorization_code"),
        },
    ],
)
def test_a_backend_registration_is_checked(options):
    with pytest.raises(ConfigurationError):
        ClientRegistration(
            "bad", [], **{"scope": HOLD_SCOPE, "grant_types": ("client_credentials",), **options}
        )
