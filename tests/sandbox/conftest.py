"""Sandbox fixtures: sandbox EHRs on loopback over the shared FHIR server, and a SMART client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc.jwk import KeySet, RSAKey

from ehr_sandbox.fhir_server import LocalFhirServer
from ehr_sandbox.runner import SandboxStack
from ehr_sandbox.settings import ClientRegistration
from fhir_rehab.fhir.client import FhirClient

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: tests read the Location header
TAG_SYSTEM = "https://fhir-rehab.org/fhir/CodeSystem/run"
PUBLIC, BASIC, JWT, NARROW = "test-public", "test-basic", "test-jwt", "test-narrow"
SECRET = "s3cret-for-tests"
PATIENT_SCOPE = "launch openid fhirUser offline_access patient/Patient.rs patient/Condition.cruds"


@dataclass
class Seeded:
    """Two tagged test patients: A with two Conditions, B with one."""

    tag: str
    patient_a: str
    patient_b: str
    conditions_a: list[str]
    condition_b: str

    @property
    def patient_id(self) -> str:  # the runner reads `.patient_id` of what a seed returns
        return self.patient_a


def make_patient(fhir: FhirClient, tag: str, given: str, family: str) -> str:
    body = {
        "resourceType": "Patient",
        "meta": {"tag": [{"system": TAG_SYSTEM, "code": tag}]},
        "name": [{"given": [given], "family": family}],
        "birthDate": "1970-01-01",
    }
    return str(fhir.create(body).body["id"])  # type: ignore[index]


def make_condition(fhir: FhirClient, tag: str, patient_id: str, text: str) -> str:
    body = {
        "resourceType": "Condition",
        "meta": {"tag": [{"system": TAG_SYSTEM, "code": tag}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"text": text},
    }
    return str(fhir.create(body).body["id"])  # type: ignore[index]


def delete_tagged(fhir: FhirClient, tag: str) -> None:
    for rtype in ("Condition", "Patient"):
        for resource in fhir.search_all(rtype, {"_tag": f"{TAG_SYSTEM}|{tag}"}):
            fhir.delete(rtype, resource["id"])


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[LocalFhirServer]:
    """A server of the sandbox suite's own: its patient lists see only the patients it seeded
    (the shared plain server also holds every other suite's patients)."""
    with LocalFhirServer() as server:
        yield server


@pytest.fixture(scope="session")
def seeded(fhir_server: LocalFhirServer) -> Iterator[Seeded]:
    fhir = FhirClient(fhir_server.base_url, backoff=0.0, timeout=10)
    tag = f"test-sandbox-{uuid.uuid4().hex[:10]}"
    a = make_patient(fhir, tag, "Ann", "<b>Alpha</b>")
    b = make_patient(fhir, tag, "Bob", "Beta")
    conditions = [make_condition(fhir, tag, a, f"A condition {i}") for i in range(2)]
    yield Seeded(tag, a, b, conditions, make_condition(fhir, tag, b, "B condition"))
    delete_tagged(fhir, tag)


@pytest.fixture(scope="session")
def client_key() -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    return RSAKey.import_key(key.as_dict(private=True, kid="test-client-key"))


def start_stack(
    fhir_server: LocalFhirServer, seeded: Seeded, client_key: RSAKey, **options: Any
) -> SandboxStack:
    stack = SandboxStack(
        fhir_base=fhir_server.base_url, seed=lambda client: [seeded], start_app=False, **options
    ).start()
    stack.register_client(ClientRegistration(PUBLIC, [REDIRECT]))
    stack.register_client(
        ClientRegistration(BASIC, [REDIRECT], auth_method="client_secret_basic", client_secret=SECRET)
    )
    jwks = {"keys": [client_key.as_dict(private=False)]}
    stack.register_client(ClientRegistration(JWT, [REDIRECT], auth_method="private_key_jwt", jwks=jwks))
    stack.register_client(ClientRegistration(NARROW, [REDIRECT], scope="openid patient/*.rs"))
    return stack


@pytest.fixture(scope="session")
def stack(fhir_server: LocalFhirServer, seeded: Seeded, client_key: RSAKey) -> Iterator[SandboxStack]:
    """A sandbox EHR that approves every request (no consent page)."""
    running = start_stack(fhir_server, seeded, client_key, auto_approve=True)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def consent_stack(fhir_server: LocalFhirServer, seeded: Seeded, client_key: RSAKey) -> Iterator[SandboxStack]:
    """A sandbox EHR that asks for consent."""
    running = start_stack(fhir_server, seeded, client_key, auto_approve=False)
    yield running
    running.stop()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Smart:
    """A SMART client for one sandbox: authlib's OAuth2Session plus plain requests."""

    def __init__(self, stack: SandboxStack, client_key: RSAKey) -> None:
        self.stack = stack
        self.client_key = client_key
        self.authorize_url = f"{stack.sandbox_url}/auth/authorize"
        self.token_url = f"{stack.sandbox_url}/auth/token"

    def session(
        self, client_id: str = PUBLIC, scope: str = PATIENT_SCOPE, pkce: str | None = "S256"
    ) -> OAuth2Session:
        from authlib.oauth2.rfc7523 import PrivateKeyJWT

        if client_id == BASIC:
            return OAuth2Session(
                client_id,
                SECRET,
                scope=scope,
                redirect_uri=REDIRECT,
                code_challenge_method=pkce,
                token_endpoint_auth_method="client_secret_basic",
            )
        if client_id == JWT:
            return OAuth2Session(
                client_id,
                self.client_key,
                scope=scope,
                redirect_uri=REDIRECT,
                code_challenge_method=pkce,
                token_endpoint_auth_method=PrivateKeyJWT(
                    self.token_url, alg="RS384", headers={"kid": "test-client-key"}
                ),
            )
        return OAuth2Session(client_id, scope=scope, redirect_uri=REDIRECT, code_challenge_method=pkce)

    def ehr_launch(self, patient_id: str, fault: str = "none") -> str:
        """Press Launch on the EHR page; the launch id from the redirect to the app."""
        response = requests.get(
            f"{self.stack.sandbox_url}/ehr/launch",
            allow_redirects=False,
            params={"patient": patient_id, "fault": fault},
            timeout=10,
        )
        assert response.status_code == 302, response.text
        return query_of(response.headers["Location"])["launch"]

    def authorize(
        self, session: OAuth2Session, verifier: str | None = None, **params: Any
    ) -> requests.Response:
        """GET the authorize URL (aud defaults to the sandbox iss); no redirects followed."""
        params.setdefault("aud", self.stack.fhir_base)
        params = {k: v for k, v in params.items() if v is not None}
        url, _ = session.create_authorization_url(self.authorize_url, code_verifier=verifier, **params)
        return requests.get(url, allow_redirects=False, timeout=10)

    def login(
        self,
        client_id: str = PUBLIC,
        scope: str = PATIENT_SCOPE,
        *,
        patient_id: str | None = None,
        fault: str = "none",
        nonce: str | None = None,
    ) -> tuple[OAuth2Session, dict[str, Any]]:
        """A whole launch: EHR launch (when `patient_id`), authorize, token."""
        session = self.session(client_id, scope)
        verifier = generate_token(48)
        launch = self.ehr_launch(patient_id, fault) if patient_id else None
        response = self.authorize(session, verifier, launch=launch, nonce=nonce)
        assert response.status_code == 302, response.text
        token = session.fetch_token(
            self.token_url, authorization_response=response.headers["Location"], code_verifier=verifier
        )
        return session, dict(token)

    def jwks(self) -> KeySet:
        config = requests.get(f"{self.stack.fhir_base}/.well-known/smart-configuration", timeout=10).json()
        return KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())


def fhir_get(url: str, token: str | None, **params: Any) -> requests.Response:
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(url, params=params, headers=headers, timeout=10)


@pytest.fixture
def smart(stack: SandboxStack, client_key: RSAKey) -> Smart:
    return Smart(stack, client_key)


@pytest.fixture
def consent_smart(consent_stack: SandboxStack, client_key: RSAKey) -> Smart:
    return Smart(consent_stack, client_key)
