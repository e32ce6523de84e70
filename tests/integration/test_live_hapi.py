"""Opt-in: the whole flow against a public HAPI FHIR sandbox named by FHIR_REHAB_LIVE_FHIR_BASE.

Skipped (with the reason shown by `-ra`) when the variable is unset. Everything written carries
a run tag and is deleted afterwards, the HAPI server being shared.
"""

import os
import uuid

import pytest

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients
from tests.support.schema import schema_errors

LIVE = os.environ.get("FHIR_REHAB_LIVE_FHIR_BASE")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not LIVE,
        reason="set FHIR_REHAB_LIVE_FHIR_BASE to a public HAPI R4 base "
        "(e.g. https://hapi.fhir.org/baseR4) to run live tests",
    ),
]


@pytest.fixture
def live():
    client = FhirClient(LIVE, timeout=60)
    written: list[str] = []
    yield client, written
    for ref in reversed(written):  # dependants first
        rtype, rid = ref.split("/")
        try:
            client.delete(rtype, rid)
        except Exception:  # noqa: BLE001 - best effort clean-up on a shared server
            pass


def test_full_flow_on_hapi(live):
    client, written = live
    run = f"live-{uuid.uuid4().hex[:10]}"
    seeds = seed_demo_patients(client, run=run)
    written += [r for s in seeds for r in (f"Patient/{s.patient_id}", f"Condition/{s.condition_id}")]
    patient = seeds[0].patient_id
    screen = svc.record_screen(
        client, SCIATICA_PROGRAM, patient, {k: False for k in RED_FLAG_KEYS}, Actor(), run
    )
    written += screen.write.refs
    start = svc.start_program(client, SCIATICA_PROGRAM, patient, Actor())
    written += start.write.refs
    assert len([r for r in start.write.refs if r.startswith("Task/")]) == 5
    again = svc.start_program(client, SCIATICA_PROGRAM, patient, Actor())
    assert again.already_started and again.write.refs == []
    for ref in start.write.refs:
        rtype, rid = ref.split("/")
        assert schema_errors(client.read(rtype, rid)) == []
