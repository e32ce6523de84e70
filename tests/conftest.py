"""Shared fixtures: the real local FHIR server (sekmet-fhir) and the Flask app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.sandbox.fhir_server import LocalFhirServer


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[LocalFhirServer]:
    """One sekmet-fhir process for the whole run, on a free loopback port, temporary data."""
    with LocalFhirServer() as server:
        yield server


@pytest.fixture
def fhir(fhir_server: LocalFhirServer) -> FhirClient:
    """A client on the local server, with fast retries (nothing in tests should wait)."""
    return FhirClient(fhir_server.base_url, backoff=0.0, timeout=10)


@pytest.fixture
def run_tag() -> str:
    """A tag unique to one test, to find and clean up what it wrote."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SESSION_DIR": str(tmp_path / "s"), "WTF_CSRF_ENABLED": True}
    )
    yield app


@pytest.fixture
def client(app):
    return app.test_client()
