"""Benchmark: the tailoring save and the handout (HTML and PDF) beside a program page render.

Against the local FHIR server, one patient per run: each operation reads the record like the
page does. Prints HTTP requests, bytes received, server time (time to the response headers,
`requests`' `elapsed`), app time (the rest) and the ratio to the page render, medians of the same
run.

    PYTHONPATH=. python benchmarks/tailoring_handout.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from common import Row, save
from flask import render_template

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.model import Dosage
from fhir_rehab.program.progression import check_progression
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as P
from fhir_rehab.program.tailoring import Prescribed
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.seed import seed_demo_patients
from fhir_rehab.services.tailoring import update_plan
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.charts import pain_chart_svg
from fhir_rehab.web.clinician_base import STATUS_WORDS
from fhir_rehab.web.handout import handout_context, render_pdf
from fhir_rehab.web.pictures import exercise_picture

ACTOR = Actor("Practitioner/bench", "Bench Physio")


class Meter:
    """Counts requests, bytes and server time of one FhirClient's HTTP session."""

    def __init__(self, client: FhirClient) -> None:
        self.requests = self.bytes = 0
        self.server_s = 0.0
        client.http.hooks["response"].append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.requests += 1
        self.bytes += len(response.content)
        self.server_s += response.elapsed.total_seconds()

    def measure(self, fn: Callable[[], object]) -> tuple[int, int, float, float]:
        r, b, s = self.requests, self.bytes, self.server_s
        t0 = time.perf_counter()
        fn()
        total = time.perf_counter() - t0
        server = self.server_s - s
        return self.requests - r, self.bytes - b, (total - server) * 1000, server * 1000


def run(runs: int) -> dict[str, list[tuple[int, int, float, float]]]:
    app = create_app({"SECRET_KEY": "bench", "SESSION_DIR": "/tmp/fhir-rehab-bench-sessions"})
    rows: dict[str, list[tuple[int, int, float, float]]] = {}
    with LocalFhirServer() as server:
        client = FhirClient(server.base_url)
        meter = Meter(client)
        patient = seed_demo_patients(client, run=f"bench-{uuid.uuid4().hex[:6]}")[0].patient_id
        svc.record_screen(client, P, patient, {k: False for k in RED_FLAG_KEYS}, ACTOR, str(uuid.uuid4()))
        svc.start_program(client, P, patient, ACTOR)

        def page() -> None:
            record = read_patient_record(client, patient)
            state = record.state(P)
            current = state.current
            check = check_progression(
                current.stage, state.pain, current.active_since, utcnow(), state.oswestry
            )
            with app.test_request_context("/patient/program"):
                render_template(
                    "clinician/program.html",
                    patient=record.patient,
                    program=P,
                    picture=exercise_picture,
                    words=STATUS_WORDS,
                    state=state,
                    current=current,
                    check=check,
                    chart=pain_chart_svg(state.pain),
                    submission_id="s",
                    odi_submission_id="o",
                    adherence=[],
                    reported={},
                    hold=None,
                    rescreen=None,
                    progress_reviews=[],
                )

        def save(reps: list[int] = [10]) -> None:  # noqa: B006 - a counter kept across calls
            reps[0] = 11 if reps[0] == 10 else 10
            stage = read_patient_record(client, patient).state(P).stages[0]
            items = [
                Prescribed(p.exercise, p.dosage, request_id=p.request_id, version=p.version)
                for p in stage.prescriptions
            ]
            first = items[0]
            items[0] = Prescribed(
                first.exercise,
                Dosage(sets=2, reps=reps[0], hold_seconds=3, times_per_day=2),
                request_id=first.request_id,
                version=first.version,
            )
            update_plan(client, P, patient, {1: items}, ACTOR, str(uuid.uuid4()), seen={1: stage.version})

        def handout(pdf: bool) -> None:
            record = read_patient_record(client, patient)
            context = handout_context(record.patient, record.state(P).current, "Bench", {}, date.today())
            context.update(picture=exercise_picture, patient_id=patient, can_file=False, careplan_id=None)
            with app.test_request_context("/patient/program/sheet"):
                html = render_template("clinician/handout.html", for_pdf=pdf, **context)
            if pdf:
                render_pdf(html, "http://localhost/")

        ops = {
            "program page": page,
            "tailoring save": save,
            "handout HTML": lambda: handout(False),
            "handout PDF": lambda: handout(True),
        }
        for op in ops.values():  # warm-up: imports, template compilation, font loading
            op()
        for _ in range(runs):
            for name, op in ops.items():
                rows.setdefault(name, []).append(meter.measure(op))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = run(args.runs)
    med = {
        name: tuple(statistics.median(v[i] for v in values) for i in range(4))
        for name, values in rows.items()
    }
    base = med["program page"][2] + med["program page"][3]
    print(f"sekmet-fhir 0.1.1 on loopback, WeasyPrint 70.0; medians of {args.runs} runs (after one warm-up)")
    head = ("operation", "requests", "bytes", "app ms", "server ms", "total ms", "x page")
    print(f"{head[0]:<15} {head[1]:>8} {head[2]:>8} {head[3]:>8} {head[4]:>9} {head[5]:>9} {head[6]:>7}")
    for name, (req, size, app_ms, server_ms) in med.items():
        total = app_ms + server_ms
        x = total / base
        print(f"{name:<15} {req:>8.0f} {size:>8.0f} {app_ms:>8.1f} {server_ms:>9.1f} {total:>9.1f} {x:>7.2f}")
    rows = [
        Row(
            benchmark="tailoring",
            action=name,
            who="fhir-rehab",
            requests=req,
            kbytes=size / 1024,
            app_ms=app_ms,
            server_ms=server_ms,
            total_ms=app_ms + server_ms,
            ratio=(app_ms + server_ms) / base,
            note="baseline: a program page render (read + template)" if name == "program page" else "",
        )
        for name, (req, size, app_ms, server_ms) in med.items()
    ]
    save("tailoring", rows, {"runs": args.runs, "pdf": "WeasyPrint 70.0", "x_baseline": "program page"})


if __name__ == "__main__":
    main()
