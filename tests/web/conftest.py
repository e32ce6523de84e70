"""A whole sandbox (FHIR server, EHR, authorization server, app) on loopback, and launches."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from fhir_rehab.sandbox.runner import SandboxStack

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_id" value="([^"]+)"')


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    with SandboxStack(auto_approve=True) as running:
        yield running


class Browser:
    """A cookie-keeping HTTP client that launches the app from the sandbox EHR."""

    def __init__(self, stack: SandboxStack) -> None:
        self.stack = stack
        self.http = requests.Session()

    def launch(self, patient_key: str) -> requests.Response:
        patient = next(p for p in self.stack.patients if p.key == patient_key)
        return self.http.get(f"{self.stack.sandbox_url}/ehr/launch",
                             params={"patient": patient.patient_id}, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.stack.app_url}{path}", timeout=30)

    def post_form(self, page: str, action: str, data: dict[str, str]) -> requests.Response:
        """Load `page`, take its CSRF token (and submission id), post `data` to `action`."""
        html = self.get(page).text
        fields = {"csrf_token": CSRF.search(html).group(1)}
        submission = SUBMISSION.search(html)
        if submission:
            fields["submission_id"] = submission.group(1)
        return self.http.post(f"{self.stack.app_url}{action}", data={**fields, **data},
                              timeout=30)


@pytest.fixture
def browser(stack: SandboxStack) -> Browser:
    return Browser(stack)
