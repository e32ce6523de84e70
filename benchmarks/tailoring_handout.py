"""Benchmark: the assessment, the tailoring save and filing the handout, the page after included,
beside the same work done naively; the handout (HTML and PDF) beside a program page render.

    PYTHONPATH=. python benchmarks/tailoring_handout.py [--runs 10]

One patient with a running program on sekmet-fhir 0.1.1 (loopback). Each write is measured as
the web page does it: built on the record the clinician's page showed (read before, by that
page, not measured), one transaction that also reads the record back, and the page after (the
program page) rendered from that. Its baseline does the same work naively, as the app did
before: read the record, write, read the record again for the page after and render it. The
handout pages read the record once and render (the PDF with WeasyPrint 70.0); their ratio is to
the program page render. Requests, KiB, app ms (wall time less the time waiting on FHIR),
server ms, medians of `--runs` runs after one warm-up, the two ways taking turns.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from common import Row, TrafficRecorder, measure, print_rows, save, with_ratios
from flask import Flask, render_template

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.assessment import Assessment
from fhir_rehab.program.model import Dosage
from fhir_rehab.program.progression import check_progression
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as P
from fhir_rehab.program.tailoring import Prescribed
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import CLINICIAN_VIEW
from fhir_rehab.services import program as svc
from fhir_rehab.services.assessment import record_assessment
from fhir_rehab.services.handout import file_handout
from fhir_rehab.services.record import PatientRecord, read_patient_record
from fhir_rehab.services.seed import seed_demo_patients
from fhir_rehab.services.tailoring import update_plan
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.charts import pain_chart_svg
from fhir_rehab.web.clinician_base import STATUS_WORDS
from fhir_rehab.web.handout import handout_context, render_pdf
from fhir_rehab.web.pictures import exercise_picture
from fhir_rehab.web.safety import hold_of

ACTOR = Actor("Practitioner/bench", "Bench Physio")
APP = "fhir-rehab"
NAIVE = "naive: read, write, read"
PAGE = "program page"
ASSESSMENT = Assessment(leg_pain=5, back_pain=3)  # no preference: the plan stays as it is


class Clinician:
    """One clinician's session: the record the last page showed (the app keeps it server side)."""

    def __init__(self, app: Flask, client: FhirClient, patient: str) -> None:
        self.app, self.client, self.patient = app, client, patient
        self.shown = read_patient_record(client, patient)
        self.reps = 10

    def read(self) -> PatientRecord:
        return read_patient_record(self.client, self.patient)

    def render_program(self, record: PatientRecord) -> str:
        """The program page's template from `record` (what the clinician sees after a write)."""
        state = record.state(P)
        current = state.current
        check = check_progression(current.stage, state.pain, current.active_since, utcnow(), state.oswestry)
        with self.app.test_request_context("/patient/program"):
            return render_template(
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
                hold=hold_of(state),
                rescreen=None,
                progress_reviews=[],
            )

    def page(self) -> None:
        self.render_program(self.read())

    def handout(self, record: PatientRecord, pdf: bool) -> bytes | str:
        context = handout_context(record.patient, record.state(P).current, "Bench", {}, date.today())
        context.update(picture=exercise_picture, patient_id=self.patient, can_file=True, careplan_id=None)
        with self.app.test_request_context("/patient/program/sheet"):
            html = render_template("clinician/handout.html", for_pdf=pdf, **context)
        return render_pdf(html, "http://localhost/") if pdf else html

    def _after(self, write: Any) -> None:
        """The page after, rendered from the write's own reads; it is now the page shown."""
        self.shown = write.after
        self.render_program(self.shown)

    def _naively(self, write: Callable[[PatientRecord], object]) -> None:
        """Read, write, read again for the page after and render it."""
        write(self.read())
        self.render_program(self.read())

    # -- the assessment ------------------------------------------------------------------------
    def assess(self) -> None:
        self._after(self._assess(CLINICIAN_VIEW))

    def assess_naively(self) -> None:
        self._naively(lambda _: self._assess(None))

    def _assess(self, view: Any) -> Any:
        return record_assessment(
            self.client, self.patient, ASSESSMENT, ACTOR, str(uuid.uuid4()), read_after=view
        )

    # -- the tailoring save ----------------------------------------------------------------------
    def save_plan(self) -> None:
        self._after(self._save(self.shown, CLINICIAN_VIEW))

    def save_plan_naively(self) -> None:
        self._naively(lambda record: self._save(record, None))

    def _save(self, record: PatientRecord, view: Any) -> Any:
        """Stage 1's first exercise to 10 or 11 repetitions (a change every time)."""
        self.reps = 11 if self.reps == 10 else 10
        stage = record.state(P).stages[0]
        items = list(stage.prescriptions)
        first = items[0]
        dose = Dosage(sets=2, reps=self.reps, hold_seconds=3, times_per_day=2)
        items[0] = Prescribed(first.exercise, dose, request_id=first.request_id, version=first.version)
        return update_plan(
            self.client,
            P,
            self.patient,
            {1: items},
            ACTOR,
            str(uuid.uuid4()),
            seen={1: stage.version},
            record=record,
            read_after=view,
        )

    # -- filing the handout -------------------------------------------------------------------
    def file(self) -> None:
        if hold_of(self.shown.state(P)) is not None:
            raise RuntimeError("the program is on hold: nothing to file")
        self._after(self._file(self.shown, guarded=True))

    def file_naively(self) -> None:
        self._naively(lambda record: self._file(record, guarded=False))

    def _file(self, record: PatientRecord, *, guarded: bool) -> Any:
        state = record.state(P)
        pdf = self.handout(record, pdf=True)
        assert isinstance(pdf, bytes)  # noqa: S101 (render_pdf's type)
        return file_handout(
            self.client,
            pdf,
            patient_id=self.patient,
            care_plan_id=state.careplan_id,
            stage_title=f"Stage {state.current.stage.number}",
            actor=ACTOR,
            key=f"handout-{uuid.uuid4()}",
            shown=(P, record) if guarded else None,
            read_after=CLINICIAN_VIEW if guarded else None,
        )


def run(runs: int) -> list[Row]:
    app = create_app({"SECRET_KEY": "bench", "SESSION_DIR": "/tmp/fhir-rehab-bench-sessions"})
    samples: dict[tuple[str, str], list[Row]] = {}
    with LocalFhirServer() as server:
        client = FhirClient(server.base_url, backoff=0.0)
        patient = seed_demo_patients(client, run=f"bench-{uuid.uuid4().hex[:6]}")[0].patient_id
        svc.record_screen(client, P, patient, dict.fromkeys(RED_FLAG_KEYS, False), ACTOR, str(uuid.uuid4()))
        svc.start_program(client, P, patient, ACTOR)
        me = Clinician(app, client, patient)
        cases: list[tuple[str, str, Callable[[], object]]] = [
            (PAGE, APP, me.page),
            ("handout HTML", APP, lambda: me.handout(me.read(), pdf=False)),
            ("handout PDF", APP, lambda: me.handout(me.read(), pdf=True)),
            ("assessment, page after incl.", APP, me.assess),
            ("assessment, page after incl.", NAIVE, me.assess_naively),
            ("tailoring save, page after incl.", APP, me.save_plan),
            ("tailoring save, page after incl.", NAIVE, me.save_plan_naively),
            ("handout filing, page after incl.", APP, me.file),
            ("handout filing, page after incl.", NAIVE, me.file_naively),
        ]
        with TrafficRecorder(server.base_url) as recorder:
            for _, _, fn in cases:  # warm-up: imports, template compilation, font loading
                fn()
                me.shown = me.read()  # a naive write changed the record: the next page shows it
            for _ in range(runs):
                for action, who, fn in cases:
                    row = measure(recorder, fn, 1, benchmark="tailoring", action=action, who=who)
                    samples.setdefault((action, who), []).append(row)
                    if who == NAIVE:
                        me.shown = me.read()  # (not measured: the page before the next action)
    rows = []
    for got in samples.values():
        got.sort(key=lambda r: r.total_ms)
        rows.append(got[len(got) // 2])
    rows = with_ratios(rows, NAIVE)
    page = next(r for r in rows if r.action == PAGE)
    for r in rows:
        if r.who == APP and r.ratio is None:  # the pages: to the program page render
            r.ratio = r.total_ms / page.total_ms
            r.note = "baseline: the program page render (read + template)" if r is page else "x program page"
        elif r.who == NAIVE:
            r.note = "the app before: read the record, write, read it again for the page after"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = run(args.runs)
    print_rows(
        f"sekmet-fhir 0.1.1 on loopback, WeasyPrint 70.0; medians of {args.runs} runs (after one warm-up)",
        rows,
    )
    save("tailoring", rows, {"runs": args.runs, "pdf": "WeasyPrint 70.0"})


if __name__ == "__main__":
    main()
