"""Benchmark: commands as whole processes. `fhir-rehab --help` beside `python -c pass`, and
`fhir-rehab start` beside the same program written by a one-request-per-resource fhirclient
script (benchmarks/fhirclient_start.py; pip install fhirclient==4.4.0).

    python benchmarks/startup.py [--repeat 9]

Each `start` run gets a fresh, screened patient, so every run really writes the program.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import Row, print_rows, save

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "fhir-rehab"  # the console script pip installed
# Bytecode is written and reused, as on any installed machine (pip compiles what it installs):
# with PYTHONDONTWRITEBYTECODE set, every run would compile the app's modules from source again
# while the baseline's installed fhirclient and requests load theirs compiled.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(ROOT)}


def wall(argv: list[str], repeat: int, before: list[list[str]] | None = None) -> tuple[float, list[float]]:
    """Median wall time (ms) of running `argv` (or `before[i]` per run) as a whole process."""
    runs = [_run(before[i] if before else argv) for i in range(repeat)]
    return statistics.median(runs), runs


def alternate(ours: list[list[str]], theirs: list[list[str]]) -> tuple[float, float]:
    """Median wall times (ms) of two commands run turn about (ours, theirs, ours, ...): a load
    that comes and goes on a shared machine weighs on both alike."""
    a, b = [], []
    for mine, other in zip(ours, theirs, strict=True):
        a.append(_run(mine))
        b.append(_run(other))
    return statistics.median(a), statistics.median(b)


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=120)  # noqa: S603
    return (time.perf_counter() - t0) * 1000


def screened_patients(client: FhirClient, n: int) -> list[str]:
    out = []
    for _ in range(n):
        patient = seed_demo_patients(client, run=uuid.uuid4().hex[:10])[0].patient_id
        svc.record_screen(
            client, SCIATICA_PROGRAM, patient, dict.fromkeys(RED_FLAG_KEYS, False), Actor(), str(uuid.uuid4())
        )
        out.append(patient)
    return out


class _Captured(Exception):  # noqa: N818 - a control-flow signal
    def __init__(self, bundle: dict) -> None:
        self.bundle = bundle


class CapturingClient(FhirClient):
    """Reads go to the server; the transaction is captured instead of sent."""

    def transaction(self, bundle: dict, **kwargs: Any) -> dict:
        if bundle.get("type") == "transaction":
            raise _Captured(bundle)
        return super().transaction(bundle, **kwargs)


def program_bundle(base: str, patient: str) -> dict:
    try:
        svc.start_program(CapturingClient(base), SCIATICA_PROGRAM, patient, Actor())
    except _Captured as captured:
        return captured.bundle
    raise RuntimeError("start wrote nothing")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    n = args.repeat
    rows: list[Row] = []
    _run([str(SCRIPT), "--help"])  # compiled once, as on any installed machine
    help_ms, pass_ms = alternate([[str(SCRIPT), "--help"]] * n, [[sys.executable, "-c", "pass"]] * n)
    rows.append(Row("startup", "--help (whole process)", "python -c pass", 0, 0, pass_ms, 0, pass_ms))
    rows.append(Row("startup", "--help (whole process)", "fhir-rehab", 0, 0, help_ms, 0, help_ms))
    with LocalFhirServer() as server, tempfile.TemporaryDirectory() as tmp:
        client = FhirClient(server.base_url)
        ours, theirs = screened_patients(client, n + 1), screened_patients(client, n)
        _run([str(SCRIPT), "start", "--fhir-base", server.base_url, "--patient", ours.pop()])  # compiled once
        bundles = []
        for i, patient in enumerate(theirs):
            path = Path(tmp) / f"program-{i}.json"
            path.write_text(json.dumps(program_bundle(server.base_url, patient)))
            bundles.append(path)
        script = str(Path(__file__).parent / "fhirclient_start.py")
        start_ms, base_ms = alternate(
            [[str(SCRIPT), "start", "--fhir-base", server.base_url, "--patient", p] for p in ours],
            [
                [sys.executable, script, "--fhir-base", server.base_url, "--patient", p, "--program", str(b)]
                for p, b in zip(theirs, bundles, strict=True)
            ],
        )
        done = subprocess.run(  # noqa: S603
            [
                sys.executable,
                script,
                "--fhir-base",
                server.base_url,
                "--patient",
                theirs[0],
                "--program",
                str(bundles[0]),
            ],
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
        )
        base_requests = json.loads(done.stdout.splitlines()[-1])["requests"]
        counting = FhirClient(server.base_url)
        svc.start_program(counting, SCIATICA_PROGRAM, screened_patients(client, 1)[0], Actor())
        rows.append(
            Row(
                "startup",
                "start (whole process)",
                "fhirclient script",
                base_requests,
                0,
                0,
                0,
                base_ms,
                note="one request per resource",
            )
        )
        rows.append(
            Row("startup", "start (whole process)", "fhir-rehab", counting.request_count, 0, 0, 0, start_ms)
        )
    for r in rows:
        base = next(
            b for b in rows if b.action == r.action and b.who in ("python -c pass", "fhirclient script")
        )
        r.ratio = r.total_ms / base.total_ms
    print_rows(f"Whole processes, medians of {n} (total ms is wall time)", rows)
    save("startup", rows, {"repeat": n})


if __name__ == "__main__":
    main()
