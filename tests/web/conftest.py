"""A whole sandbox (FHIR server, EHR, authorization server, app) on loopback, and launches."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.services.seed import seed_demo_patients
from tests.support import profiles
from tests.support.profiles import profile_server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_id" value="([^"]+)"')
PATIENT = re.compile(r'name="patient" value="([^"]+)"')

# Run this suite against both FHIR server profiles (plain and HAPI-like strict).
fhir_profile = profiles.fhir_profile
fhir_server = profiles.fhir_server


@pytest.fixture(scope="module")
def stack(fhir_profile: str) -> Iterator[SandboxStack]:
    with (
        profile_server(fhir_profile) as server,
        SandboxStack(fhir_base=server.base_url, auto_approve=True) as running,
    ):
        yield running


class Browser:
    """A cookie-keeping HTTP client that launches the app from the sandbox EHR."""

    def __init__(self, stack: SandboxStack) -> None:
        self.stack = stack
        self.http = requests.Session()

    def launch(self, patient_key: str) -> requests.Response:
        patient = next(p for p in self.stack.patients if p.key == patient_key)
        return self.launch_id(patient.patient_id)

    def launch_id(self, patient_id: str) -> requests.Response:
        return self.http.get(
            f"{self.stack.sandbox_url}/ehr/launch", params={"patient": patient_id}, timeout=30
        )

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.stack.app_url}{path}", timeout=30)

    def post_form(self, page: str, action: str, data: dict[str, str]) -> requests.Response:
        """Load `page`, take its CSRF token (and submission id), post `data` to `action`."""
        html = self.get(page).text
        fields = {"csrf_token": CSRF.search(html).group(1)}
        for name, pattern in (("submission_id", SUBMISSION), ("patient", PATIENT)):
            found = pattern.search(html)
            if found:
                fields[name] = found.group(1)
        return self.http.post(f"{self.stack.app_url}{action}", data={**fields, **data}, timeout=30)


@pytest.fixture
def browser(stack: SandboxStack) -> Browser:
    return Browser(stack)


@pytest.fixture
def fresh_patient(stack: SandboxStack) -> str:
    """A new eligible patient (ICD-10-CM M54.41) in the sandbox's FHIR server."""
    seeds = seed_demo_patients(FhirClient(stack.backing_fhir_base), run=uuid.uuid4().hex[:12])
    return seeds[0].patient_id


@pytest.fixture
def fhir_calls(stack, monkeypatch) -> Iterator[list[str]]:
    """Every HTTP request sent to the FHIR base the app uses (method and path)."""
    seen: list[str] = []
    send = requests.Session.send
    base = stack.fhir_base.rstrip("/")

    def counting(self, request, **kwargs):
        if str(request.url).startswith(base):
            seen.append(f"{request.method} {urlsplit(str(request.url)).path} {describe(request.body)}")
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    return seen


def describe(body: bytes | str | None) -> str:
    """A transaction or batch by its entries' methods and types (to read a failure)."""
    try:
        bundle = json.loads(body or b"{}")
    except ValueError:
        return ""
    entries = bundle.get("entry") or []
    return f"{bundle.get('type', '')}: " + ", ".join(
        f"{e['request']['method']} {e['request']['url'].split('?')[0]}" for e in entries if "request" in e
    )
