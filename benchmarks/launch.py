"""Benchmark: a whole EHR launch, from the sandbox EHR's Launch to the rendered program page.

Prints HTTP requests the app makes and median times, split into discovery, token (token
endpoint and JWKS) and FHIR reads, against the embedded sandbox on loopback.

    python benchmarks/launch.py [--launches 20]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

import requests

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc

PHASES = ("discovery", "token", "fhir")


class OutboundRecorder:
    """Wraps requests' Session.send to time the app's calls to the sandbox (server threads)."""

    def __init__(self, sandbox_url: str) -> None:
        self.sandbox_url = sandbox_url
        self.calls: list[tuple[str, float]] = []
        self._original = requests.Session.send
        self._lock = threading.Lock()

    def phase(self, url: str) -> str | None:
        if not url.startswith(self.sandbox_url) or threading.current_thread() is threading.main_thread():
            return None
        if "/.well-known/" in url:
            return "discovery"
        if "/auth/" in url:
            return "token"
        return "fhir" if "/fhir" in url else None

    def __enter__(self) -> OutboundRecorder:
        recorder = self

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return recorder._original(session, request, **kwargs)
            finally:
                phase = recorder.phase(request.url)
                if phase:
                    with recorder._lock:
                        recorder.calls.append((phase, (time.perf_counter() - t0) * 1000))

        requests.Session.send = send  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        requests.Session.send = self._original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=20)
    args = parser.parse_args()
    with SandboxStack(auto_approve=True) as stack:
        patient = next(p for p in stack.patients if p.key == "eligible-icd10").patient_id
        backing = FhirClient(stack.backing_fhir_base)
        svc.record_screen(
            backing, SCIATICA_PROGRAM, patient, {k: False for k in RED_FLAG_KEYS}, Actor(), str(uuid.uuid4())
        )
        svc.start_program(backing, SCIATICA_PROGRAM, patient, Actor())
        totals, per_phase_ms, per_phase_n = [], defaultdict(list), defaultdict(list)
        with OutboundRecorder(stack.sandbox_url) as recorder:
            for _ in range(args.launches):
                recorder.calls.clear()
                browser = requests.Session()
                t0 = time.perf_counter()
                browser.get(
                    f"{stack.sandbox_url}/ehr/launch", params={"patient": patient}, timeout=30
                ).raise_for_status()
                page = browser.get(f"{stack.app_url}/patient/program", timeout=30)
                page.raise_for_status()
                totals.append((time.perf_counter() - t0) * 1000)
                assert "Stage 1" in page.text  # noqa: S101 - the page really rendered
                for phase in PHASES:
                    calls = [ms for p, ms in recorder.calls if p == phase]
                    per_phase_n[phase].append(len(calls))
                    per_phase_ms[phase].append(sum(calls))
    print(
        f"Embedded sandbox on loopback (sekmet-fhir 0.1.1 behind the sandbox proxy), "
        f"{args.launches} launches, medians; EHR Launch -> /patient, then /patient/program"
    )
    print("Each page's FHIR data is one batch round trip; discovery and JWKS are cached (TTL).")
    print(
        f"{'phase':<12} {'requests (first)':>16} {'ms (first)':>10} {'requests (median)':>17} "
        f"{'ms (median)':>11}"
    )
    for phase in PHASES:
        print(
            f"{phase:<12} {per_phase_n[phase][0]:>16} {per_phase_ms[phase][0]:>10.1f} "
            f"{statistics.median(per_phase_n[phase]):>17.0f} "
            f"{statistics.median(per_phase_ms[phase]):>11.1f}"
        )
    print(
        f"{'total':<12} {'':>16} {totals[0]:>10.1f} {'':>17} {statistics.median(totals):>11.1f}"
        "  (browser side, every hop)"
    )


if __name__ == "__main__":
    main()
