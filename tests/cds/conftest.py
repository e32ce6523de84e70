"""A CDS client's keys, a recording HTTP server (JWKS host and stand-in FHIR server), the app."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ehr_sandbox.fhir_server import free_port
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.resources.cds_prefetch import prefetch_queries
from tests.support.cds import CdsClientKeys

ISS = "https://ehr.example.test/cds-client"
PUBLIC_URL = "http://cds.example.test"
SERVICE_URL = f"{PUBLIC_URL}/cds-services/sciatica-rehab"
DISCOVERY_URL = f"{PUBLIC_URL}/cds-services"
FEEDBACK_URL = f"{SERVICE_URL}/feedback"


class Recorder:
    """Serves `/jwks` (the client's keys) and records every request it gets; any other path
    answers 500, so a FHIR read sent here is both recorded and useless."""

    def __init__(self, jwks: dict) -> None:
        self.jwks = jwks
        self.requests: list[tuple[str, str]] = []
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path))
        if request.path == "/jwks":
            response = Response(json.dumps(self.jwks), content_type="application/json")
        else:
            response = Response("{}", status=500, content_type="application/json")
        return response(environ, start_response)

    def fhir_reads(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[1].startswith("/fhir")]


@pytest.fixture(scope="session")
def keys() -> CdsClientKeys:
    return CdsClientKeys()


@pytest.fixture(scope="session")
def recorder(keys):
    server = Recorder(keys.jwks)
    server.thread.start()
    yield server
    server.server.shutdown()


def make_cds_app(tmp_path, keys, recorder, fhir_base: str, **extra):
    trusted = {ISS: {"jwks": keys.jwks, "jku": [f"{recorder.url}/jwks"]}}
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "SESSION_DIR": str(tmp_path / "sessions"),
        "CDS_STORE_DIR": str(tmp_path / "cds"),
        "PUBLIC_URL": PUBLIC_URL,
        "ISS_ALLOWLIST": [fhir_base, f"{recorder.url}/fhir"],
        "CDS_TRUSTED_CLIENTS": trusted,
        **extra,
    }
    return create_app(config)


@pytest.fixture
def cds_app(tmp_path, keys, recorder, fhir_server):
    return make_cds_app(tmp_path, keys, recorder, fhir_server.base_url)


@pytest.fixture
def cds(cds_app):
    return cds_app.test_client()


def hook_body(patient_id: str, *, prefetch=None, fhir_server: str | None = None) -> dict:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {
            "access_token": "opaque-test-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Patient.read patient/Condition.read patient/CarePlan.read",
            "subject": "fhir-rehab-cds",
        }
    return body


def full_prefetch(fhir: FhirClient, patient_id: str) -> dict:
    """What a CDS client sends for every template: each query's answer, as the server gives it."""
    return {
        key: fhir.request("GET", f"{fhir.base_url}/{url}").body
        for key, url in prefetch_queries(patient_id).items()
    }


def make_patient(fhir: FhirClient, run_tag: str, *codes, verification: str = "confirmed") -> str:
    """One Patient with an active Condition per code, in one transaction; its id.

    (Written raw: the app's own builders refuse codes it never writes, such as G83.4.)"""
    from fhir_rehab import codes as c
    from fhir_rehab.resources.wire import concept

    urn = f"urn:uuid:{uuid.uuid4()}"
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": c.SEED_IDENTIFIER, "value": f"{run_tag}.{uuid.uuid4().hex[:8]}"}],
        "meta": {"tag": [{"system": c.RUN_TAG, "code": run_tag}]},
        "name": [{"given": ["Casey"], "family": "Cds"}],
    }
    entries = [{"fullUrl": urn, "resource": patient, "request": {"method": "POST", "url": "Patient"}}]
    for code in codes:
        condition = {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": c.CONDITION_CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": c.CONDITION_VERIFICATION, "code": verification}]},
            "code": concept(code),
            "subject": {"reference": urn},
        }
        entries.append({"resource": condition, "request": {"method": "POST", "url": "Condition"}})
    response = fhir.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return response["entry"][0]["response"]["location"].split("Patient/")[1].split("/")[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
