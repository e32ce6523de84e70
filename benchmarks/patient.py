"""Benchmark: the patient's page read and log write beside the clinician's, as the services do them.

    python benchmarks/patient.py [--patients 9]

Per patient with a running program on sekmet-fhir 0.1.1 (loopback): the data read behind the
patient's today page (`/me`: one batch, the patient's record view) beside the clinician's
program page (`/patient/program`: one batch, the clinician's view with Conditions and Goals);
a session logged by the patient beside a pain score recorded by the clinician, each as the web
pages do it: built on the record the page showed (read before, not measured) and one
transaction that also reads the record back for the page after. Requests, KiB, app ms (time
outside HTTP), server ms and ratios to the clinician's, from the same run; medians over the
patients. Page rendering is not included (benchmarks/program_write.py includes it).
"""

from __future__ import annotations

import argparse
import uuid

from common import Row, TrafficRecorder, measure, print_rows, save, with_ratios

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import CLINICIAN_VIEW, PATIENT_VIEW
from fhir_rehab.services import home
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.seed import seed_demo_patients

CLINICIAN = "clinician"


def run(patients: int) -> list[Row]:
    rows: list[Row] = []
    with LocalFhirServer() as server:
        client = FhirClient(server.base_url, backoff=0.0)
        doctor = Actor("Practitioner/bench", "Dr Bench")
        ids = []
        for i in range(patients):
            pid = seed_demo_patients(client, run=f"bench-{i}-{uuid.uuid4().hex[:6]}")[0].patient_id
            svc.record_screen(
                client, SCIATICA_PROGRAM, pid, dict.fromkeys(RED_FLAG_KEYS, False), doctor, str(uuid.uuid4())
            )
            svc.start_program(client, SCIATICA_PROGRAM, pid, doctor)
            ids.append(pid)
        samples: dict[tuple[str, str], list[Row]] = {}
        with TrafficRecorder(server.base_url) as recorder:
            for pid in ids:
                me = Actor(f"Patient/{pid}", "Patient")
                mine = home.read_my_program(client, SCIATICA_PROGRAM, pid)  # the page the patient saw
                keys = [e.key for e in mine.state.current.exercises]
                seen = read_patient_record(client, pid).state(SCIATICA_PROGRAM)  # the clinician's page
                cases = [
                    (
                        "page read",
                        "patient (/me)",
                        lambda p=pid: home.read_my_program(client, SCIATICA_PROGRAM, p),
                    ),
                    (
                        "page read",
                        CLINICIAN,
                        lambda p=pid: read_patient_record(client, p).state(SCIATICA_PROGRAM),
                    ),
                    (
                        "log write",
                        "patient: session",
                        lambda p=pid, m=me, k=keys, mine=mine: home.log_session(
                            client,
                            SCIATICA_PROGRAM,
                            p,
                            k,
                            m,
                            str(uuid.uuid4()),
                            mine=mine,
                            read_after=PATIENT_VIEW,
                        ),
                    ),
                    (
                        "log write",
                        CLINICIAN,
                        lambda p=pid, seen=seen: svc.record_pain(
                            client,
                            p,
                            4,
                            doctor,
                            str(uuid.uuid4()),
                            seen.careplan_id,
                            state=seen,
                            read_after=CLINICIAN_VIEW,
                        ),
                    ),
                ]
                for action, who, fn in cases:
                    samples.setdefault((action, who), []).append(
                        measure(recorder, fn, 1, benchmark="patient", action=action, who=who)
                    )
    for got in samples.values():
        got.sort(key=lambda r: r.total_ms)
        rows.append(got[len(got) // 2])
    rows.sort(key=lambda r: (r.action, r.who == CLINICIAN))
    return with_ratios(rows, CLINICIAN)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=9)
    args = parser.parse_args()
    rows = run(args.patients)
    print_rows(
        f"Patient vs clinician on sekmet-fhir 0.1.1, loopback, median of {args.patients} patients", rows
    )
    save("patient", rows, {"patients": args.patients})


if __name__ == "__main__":
    main()
