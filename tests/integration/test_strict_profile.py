"""What the app must see right after a write, and past the first page, on a HAPI-like server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.observations import build_pain_score
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import StageRefused
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.seed import seed_demo_patients
from fhir_rehab.services.writes import commit
from tests.support.profiles import ProfileServer

CLEAR = {key: False for key in RED_FLAG_KEYS}
ACTOR = Actor(None, "Test Clinician")
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


def started_patient(fhir: FhirClient, run: str) -> str:
    patient = seed_demo_patients(fhir, run=run)[0].patient_id
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run}-screen", now=START)
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=START)
    return patient


def test_120_pain_scores_then_oswestry_baseline_and_latest_are_both_seen(fhir, run_tag):
    patient = started_patient(fhir, run_tag)
    svc.record_oswestry(fhir, patient, 48, ACTOR, f"{run_tag}-odi-0", now=START + timedelta(hours=1))
    tx = Transaction()
    for n in range(120):
        when = START + timedelta(hours=2 + n)
        tx.create(build_pain_score(n % 11, patient, ACTOR, when, f"{run_tag}-pain-{n}"))
    commit(fhir, tx)
    svc.record_oswestry(fhir, patient, 30, ACTOR, f"{run_tag}-odi-1", now=START + timedelta(days=10))

    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert [s.value for s in state.oswestry] == [48, 30]  # baseline and latest
    assert len(state.pain) == 120


def test_complete_stage_is_refused_right_after_a_hold_through_the_cache(strict_fhir_server: ProfileServer):
    fhir = FhirClient(strict_fhir_server.base_url, backoff=0.0, timeout=10)
    run = f"test-{uuid.uuid4().hex[:12]}"
    patient = started_patient(fhir, run)
    stage = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM).current
    assert stage is not None
    # Any client reading the same batch without no-cache fills HAPI's 60 s search cache...
    urls = q.patient_record(patient)
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": u}} for u in urls],
    }
    fhir.request("POST", fhir.base_url, json=batch)
    svc.record_screen(
        fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "saddle-anaesthesia": True}, ACTOR, f"{run}-positive"
    )
    cached = fhir.request("POST", fhir.base_url, json=batch).body or {}
    plans = [e["resource"] for e in cached["entry"][1]["resource"].get("entry") or []]
    assert [p["status"] for p in plans if p["resourceType"] == "CarePlan"] == ["active"]  # ...stale

    with pytest.raises(StageRefused, match="on hold"):
        svc.complete_stage(fhir, SCIATICA_PROGRAM, patient, stage.task_id, ACTOR)
    assert strict_fhir_server.proxy is not None and strict_fhir_server.proxy.stats.cache_hits > 0
