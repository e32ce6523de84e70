"""`fhir-rehab serve` with its defaults: forms posted across two gunicorn workers all succeed."""

from __future__ import annotations

import re
import stat
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import SandboxStack
from ehr_sandbox.served_app import ServedApp
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from tests.web.conftest import CSRF, PATIENT

POSTS = 12
WORKER_LINE = re.compile(r'^<(\d+)> \S+ "POST /patient/score/pain" (\d{3})', re.M)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxStack, Path, ServedApp]]:
    """The sandbox EHR and FHIR server, and the app under `fhir-rehab serve --workers 2` with
    no secret key configured (FHIR_REHAB_SECRET_KEY removed from the environment)."""
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    with SandboxStack(auto_approve=True, start_app=False, app_port=port) as stack:
        settings = {
            "FHIR_REHAB_ISS_ALLOWLIST": stack.fhir_base,
            "FHIR_REHAB_PUBLIC_URL": stack.app_url,
            "FHIR_REHAB_SESSION_DIR": str(tmp / "sessions"),
            "FHIR_REHAB_SECRET_KEY_FILE": str(tmp / "instance" / "secret_key"),
        }
        with ServedApp(port, settings, tmp / "serve.log") as served:
            yield stack, tmp, served


def test_forms_posted_across_two_workers_all_succeed(served: tuple[SandboxStack, Path, ServedApp]) -> None:
    stack, tmp, app = served
    patient = next(p for p in stack.patients if p.key == "eligible-icd10").patient_id
    backing = FhirClient(stack.backing_fhir_base)
    svc.record_screen(
        backing, SCIATICA_PROGRAM, patient, dict.fromkeys(RED_FLAG_KEYS, False), Actor(), str(uuid.uuid4())
    )
    svc.start_program(backing, SCIATICA_PROGRAM, patient, Actor())
    browser = requests.Session()
    browser.get(f"{stack.sandbox_url}/ehr/launch", params={"patient": patient}, timeout=30).raise_for_status()
    page = browser.get(f"{stack.app_url}/patient/program", timeout=30)
    assert page.status_code == 200, page.text[:500]
    fields = {"csrf_token": CSRF.search(page.text).group(1), "patient": PATIENT.search(page.text).group(1)}

    def post(score: int) -> requests.Response:
        data = {**fields, "score": str(score % 11), "submission_id": str(uuid.uuid4())}
        return browser.post(
            f"{stack.app_url}/patient/score/pain", data=data, timeout=60, allow_redirects=False
        )

    with ThreadPoolExecutor(max_workers=3) as pool:  # concurrent: both workers must take some
        answers = list(pool.map(post, range(POSTS)))

    assert [a.status_code for a in answers] == [302] * POSTS, [
        a.text[:300] for a in answers if a.status_code != 302
    ]
    assert all(a.headers["Location"].endswith("/patient/program") for a in answers)
    time.sleep(0.5)  # let gunicorn flush its access log (not a timing assertion)
    served_by = WORKER_LINE.findall(app.log_text())
    assert len(served_by) == POSTS
    assert len({pid for pid, _ in served_by}) == 2, "both workers should have served form posts"
    key_file = tmp / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
