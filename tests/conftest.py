"""Shared fixtures: the real local FHIR server (sekmet-fhir) and the Flask app."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from importlib.metadata import EntryPoint, EntryPoints, entry_points
from pathlib import Path

import pytest

from fhir_rehab import cli, create_app
from fhir_rehab.fhir.client import FhirClient
from tests.support.profiles import ProfileServer, profile_server


def declared_tools() -> EntryPoints:
    """The `fhir_rehab.tools` entry points as pyproject.toml declares them."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    tools = project["entry-points"][cli.TOOLS_GROUP]
    return EntryPoints(EntryPoint(name, value, cli.TOOLS_GROUP) for name, value in tools.items())


@pytest.fixture(scope="session", autouse=True)
def tools_entry_points() -> Iterator[None]:
    """A development install made before a tool was declared lacks its entry point (metadata is
    written at install time): then the CLI reads the declaration from pyproject.toml instead."""
    if {ep.name for ep in entry_points(group=cli.TOOLS_GROUP)} >= set(declared_tools().names):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            cli, "entry_points", lambda group, name: declared_tools().select(group=group, name=name)
        )
        yield


@pytest.fixture(scope="session")
def plain_fhir_server() -> Iterator[ProfileServer]:
    """One sekmet-fhir process for the whole run, on a free loopback port, temporary data."""
    with profile_server("plain") as server:
        yield server


@pytest.fixture(scope="session")
def strict_fhir_server() -> Iterator[ProfileServer]:
    """Another one, behind the HAPI-like strict proxy (tests/support/strict_proxy.py)."""
    with profile_server("strict") as server:
        yield server


@pytest.fixture(scope="session")
def fhir_server(plain_fhir_server: ProfileServer) -> ProfileServer:
    """The plain server; the integration, coordinator and web suites override this to run
    against both profiles (tests/support/profiles.py)."""
    return plain_fhir_server


@pytest.fixture
def fhir(fhir_server: ProfileServer) -> FhirClient:
    """A client on the local server, with fast retries (nothing in tests should wait)."""
    return FhirClient(fhir_server.base_url, backoff=0.0, timeout=10)


@pytest.fixture
def run_tag() -> str:
    """A tag unique to one test, to find and clean up what it wrote."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SESSION_DIR": str(tmp_path / "s"),
            "WORKLIST_INDEX_DIR": str(tmp_path / "w"),
            "WTF_CSRF_ENABLED": True,
        }
    )
    yield app


@pytest.fixture
def client(app):
    return app.test_client()
