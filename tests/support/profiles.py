"""The two FHIR server profiles the integration, coordinator and web suites run against.

`plain` is the local sekmet-fhir server as it is (lax); `strict` puts StrictFhirProxy in front
of it, so the suites also run against what a default HAPI FHIR server does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from ehr_sandbox.fhir_server import LocalFhirServer
from tests.support.strict_proxy import StrictFhirProxy

PROFILES = ("plain", "strict")


@dataclass(frozen=True)
class ProfileServer:
    """A FHIR base to test against, and the strict proxy when there is one."""

    profile: str
    base_url: str
    backend: LocalFhirServer
    proxy: StrictFhirProxy | None = None


@contextmanager
def profile_server(profile: str) -> Iterator[ProfileServer]:
    """A fresh local server, behind the strict proxy for the `strict` profile."""
    with LocalFhirServer() as backend:
        if profile == "plain":
            yield ProfileServer(profile, backend.base_url, backend)
            return
        with StrictFhirProxy(backend.base_url) as proxy:
            yield ProfileServer(profile, proxy.base_url, backend, proxy)


# Imported by the conftest of each suite that runs against both profiles.
@pytest.fixture(scope="session", params=PROFILES)
def fhir_profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fhir_server(request: pytest.FixtureRequest, fhir_profile: str) -> ProfileServer:
    """The session's server of this test's profile."""
    server: ProfileServer = request.getfixturevalue(f"{fhir_profile}_fhir_server")
    return server
