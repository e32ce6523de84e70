"""Programs to work on: synthetic patients screened and started on the real local server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients
from fhir_rehab.services.worklist import Intent, change_task
from fhir_rehab.services.worklist_index import WorklistIndex
from tests.support import profiles
from tests.support.profiles import ProfileServer, profile_server

PROGRAM = SCIATICA_PROGRAM
NOW = datetime.now(UTC).replace(microsecond=0)
ALL_ABSENT = {key: False for key in RED_FLAG_KEYS}

# Run this suite against both FHIR server profiles (plain and HAPI-like strict).
fhir_profile = profiles.fhir_profile
fhir_server = profiles.fhir_server


def add_practitioner(fhir: FhirClient, given: str, family: str) -> Actor:
    created = (
        fhir.create(
            {"resourceType": "Practitioner", "active": True, "name": [{"given": [given], "family": family}]}
        ).body
        or {}
    )
    return Actor(f"Practitioner/{created['id']}", f"{given} {family}")


def start_program(fhir: FhirClient, run: str, *, started: datetime = NOW, key: str = "eligible-icd10") -> str:
    """A fresh patient whose program started at `started`; returns the patient id."""
    patient = next(p for p in seed_demo_patients(fhir, run=run) if p.key == key).patient_id
    svc.record_screen(fhir, PROGRAM, patient, ALL_ABSENT, Actor(), str(uuid.uuid4()), now=started)
    svc.start_program(fhir, PROGRAM, patient, Actor(), now=started)
    return patient


def escalate(fhir: FhirClient, run: str, flag: str, *, when: datetime = NOW) -> str:
    """A fresh patient with a positive screen (one review Task); returns the patient id."""
    patient = next(p for p in seed_demo_patients(fhir, run=run) if p.key == "not-eligible")
    answers = {**ALL_ABSENT, flag: True}
    svc.record_screen(fhir, PROGRAM, patient.patient_id, answers, Actor(), str(uuid.uuid4()), now=when)
    return patient.patient_id


def stage_tasks(fhir: FhirClient, patient: str) -> list[dict]:
    tasks = fhir.search_all("Task", {"patient": patient, "_count": "50"})
    stages = [t for t in tasks if "instantiatesCanonical" in t]
    return sorted(stages, key=lambda t: t["restriction"]["period"]["end"])


def act(fhir: FhirClient, task: dict, action: str, actor: Actor, **intent: Any) -> Any:
    """One coordinator action on the Task as the caller last saw it."""
    return change_task(fhir, PROGRAM, task["id"], version(task), Intent(action, **intent), actor, NOW)


def version(task: dict) -> str:
    return task["meta"]["versionId"]


@pytest.fixture(scope="module")
def own_server(fhir_profile: str) -> Iterator[ProfileServer]:
    """A server of the module's own, so list order and counts see only what the module wrote."""
    with profile_server(fhir_profile) as server:
        yield server


@pytest.fixture(scope="module")
def own_fhir(own_server: ProfileServer) -> FhirClient:
    return FhirClient(own_server.base_url, backoff=0.0, timeout=10)


@pytest.fixture
def coordinator(fhir: FhirClient) -> Actor:
    return add_practitioner(fhir, "Casey", f"Coordinator-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def own_index(own_server: ProfileServer, tmp_path_factory: pytest.TempPathFactory) -> WorklistIndex:
    """The worklist index the app would keep for the module's own server."""
    return WorklistIndex(tmp_path_factory.mktemp("worklist") / "index.sqlite3")
