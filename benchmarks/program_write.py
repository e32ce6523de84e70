"""Benchmark: HTTP requests and median latency of screen, start and show against the local server,
beside a naive baseline that POSTs each resource separately and reads with one search per type.

    python benchmarks/program_write.py [--patients 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.seed import seed_demo_patients

ALL_ABSENT = {k: False for k in RED_FLAG_KEYS}


def measure(client: FhirClient, fn: Callable[[], object]) -> tuple[int, float]:
    before = client.request_count
    t0 = time.perf_counter()
    fn()
    return client.request_count - before, (time.perf_counter() - t0) * 1000


def naive_post_all(client: FhirClient, bundle: dict) -> None:
    """The baseline writer: every resource its own POST (no atomicity, no idempotency).
    References between the new resources are dropped: a naive client would need extra PUTs."""
    for entry in bundle["entry"]:
        resource = {k: v for k, v in entry["resource"].items()}
        for key in (
            "hasMember",
            "goal",
            "activity",
            "basedOn",
            "target",
            "focus",
            "reasonReference",
            "supportingInfo",
        ):
            resource.pop(key, None)
        if resource["resourceType"] == "Provenance":
            resource["target"] = [{"reference": f"Patient/{resource.get('id', 'x')}"}]
        client.create(resource)


def naive_show(client: FhirClient, patient: str) -> None:
    for rtype, params in [
        ("Patient", {"_id": patient}),
        ("Condition", {"patient": patient}),
        ("CarePlan", {"patient": patient}),
        ("Task", {"patient": patient}),
        ("Observation", {"patient": patient}),
        ("Provenance", {"patient": patient}),
    ]:
        client.search_all(rtype, params)


def _show(client: FhirClient, patient: str) -> None:
    read_patient_record(client, patient).state(SCIATICA_PROGRAM)


def _naive_start(client: FhirClient, patient: str, bundle: dict) -> None:
    naive_show(client, patient)  # the naive eligibility and screen checks
    naive_post_all(client, bundle)


def run(patients: int) -> list[tuple[str, str, int, float]]:
    rows: dict[tuple[str, str], list[tuple[int, float]]] = {}
    with LocalFhirServer() as server:
        client = FhirClient(server.base_url)
        for i in range(patients):
            seed = seed_demo_patients(client, run=f"bench-{i}")
            app_patient, naive_patient = seed[0].patient_id, seed[1].patient_id
            sid = str(uuid.uuid4())
            app_ops = {
                "screen": partial(
                    svc.record_screen, client, SCIATICA_PROGRAM, app_patient, ALL_ABSENT, Actor(), sid
                ),
                "start": partial(svc.start_program, client, SCIATICA_PROGRAM, app_patient, Actor()),
                "show": partial(_show, client, app_patient),
            }
            for op, fn in app_ops.items():
                rows.setdefault((op, "fhir-rehab"), []).append(measure(client, fn))
            # Baseline: same resources, one POST each; show by one search per type.
            svc.record_screen(client, SCIATICA_PROGRAM, naive_patient, ALL_ABSENT, Actor(), str(uuid.uuid4()))
            screen_tx, start_tx = _capture(client, naive_patient)
            naive_ops = {
                "screen": partial(naive_post_all, client, screen_tx),
                "start": partial(_naive_start, client, naive_patient, start_tx),
                "show": partial(naive_show, client, naive_patient),
            }
            for op, fn in naive_ops.items():
                rows.setdefault((op, "naive"), []).append(measure(client, fn))
    return [
        (op, who, int(statistics.median(r for r, _ in v)), statistics.median(t for _, t in v))
        for (op, who), v in rows.items()
    ]


class _Captured(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, bundle: dict) -> None:
        self.bundle = bundle


class CapturingClient(FhirClient):
    """Reads go to the server; a transaction is captured instead of sent."""

    def transaction(self, bundle: dict) -> dict:
        if bundle.get("type") == "transaction":
            raise _Captured(bundle)
        return super().transaction(bundle)


def _capture(client: FhirClient, patient: str) -> tuple[dict, dict]:
    """The transactions the app would send for a screen and a start, captured unsent."""
    capturing = CapturingClient(client.base_url)
    bundles = []
    for call in (
        partial(
            svc.record_screen, capturing, SCIATICA_PROGRAM, patient, ALL_ABSENT, Actor(), str(uuid.uuid4())
        ),
        partial(svc.start_program, capturing, SCIATICA_PROGRAM, patient, Actor()),
    ):
        try:
            call()
        except _Captured as captured:
            bundles.append(captured.bundle)
    return bundles[0], bundles[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=15)
    args = parser.parse_args()
    rows = run(args.patients)
    print(f"sekmet-fhir 0.1.1 on loopback, {args.patients} patients per cell, medians")
    print(f"{'operation':<10} {'client':<11} {'HTTP requests':>13} {'median ms':>10}")
    for op in ("screen", "start", "show"):
        for who in ("fhir-rehab", "naive"):
            for o, w, requests_, ms in rows:
                if (o, w) == (op, who):
                    print(f"{op:<10} {who:<11} {requests_:>13} {ms:>10.1f}")


if __name__ == "__main__":
    main()
