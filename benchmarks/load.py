"""Benchmark: 1, 4, 16 and 32 clinicians at once against `fhir-rehab serve` (gunicorn, 2 workers)
on loopback, beside the same FHIR batches sent straight to the FHIR server by as many threads.

    python benchmarks/load.py [--seconds 20] [--users 1 4 16 32]

A clinician's cycle: open the program page, record a pain score (POST, CSRF token and
submission id from the page), and see the program page the POST redirects to. Each simulated
clinician has their own patient and their own launched session (written to the app's session
store the way a launch leaves it). The direct baseline sends that cycle's FHIR traffic itself:
the record batch, the pain transaction (a new submission id each time), the record batch.
Reports cycles per second, p50/p95 per cycle, and the CPU seconds per cycle of the app's
workers and of the FHIR server (from /proc), so the app's share of the work is visible.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from common import Row, print_rows, save

from ehr_sandbox.fhir_server import LocalFhirServer, free_port
from ehr_sandbox.served_app import ServedApp
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.store import LAUNCH_KEY, TOKEN_KEY
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_id" value="([^"]+)"')
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


def programs(client: FhirClient, n: int) -> list[str]:
    out = []
    for _ in range(n):
        patient = seed_demo_patients(client, run=uuid.uuid4().hex[:10])[0].patient_id
        svc.record_screen(
            client, SCIATICA_PROGRAM, patient, dict.fromkeys(RED_FLAG_KEYS, False), Actor(), str(uuid.uuid4())
        )
        svc.start_program(client, SCIATICA_PROGRAM, patient, Actor())
        out.append(patient)
    return out


def sessions(config: dict[str, Any], base: str, patients: list[str], user: str) -> list[str]:
    """A launched session per patient, written to the shared session store; their cookie values."""
    app = create_app(config)
    out = []
    for patient in patients:
        client = app.test_client()
        launch = LaunchContext(
            base, patient, None, user, ("patient/*.cruds",), False, None, (), None, "b", None
        )
        with client.session_transaction() as session:
            session[LAUNCH_KEY] = launch.to_session()
            session[TOKEN_KEY] = {"access_token": "bench", "expires_at": time.time() + 86400}
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None  # noqa: S101
        out.append(cookie.value)
    return out


def run_level(users: int, seconds: float, cycle: Any) -> tuple[int, list[float], int]:
    """`users` threads run `cycle(i)` until the time is up; (cycles, cycle times ms, errors)."""
    stop = time.monotonic() + seconds
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def user(i: int) -> None:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                cycle(i)
            except Exception:  # noqa: BLE001 - counted, the run goes on
                with lock:
                    errors[0] += 1
                continue
            with lock:
                times.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(times), times, errors[0]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else (values[0] if values else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows: list[Row] = []
    top = max(args.users)
    with LocalFhirServer() as server, tempfile.TemporaryDirectory() as tmp:
        base = server.base_url
        client = FhirClient(base)
        patients = programs(client, top)
        config = {
            "SESSION_DIR": str(Path(tmp) / "sessions"),
            "SECRET_KEY_FILE": str(Path(tmp) / "secret_key"),
            "ISS_ALLOWLIST": [base],
        }
        clinician = (
            client.create(
                {"resourceType": "Practitioner", "name": [{"given": ["Load"], "family": "Clinician"}]}
            ).body
            or {}
        )
        cookies = sessions(config, base, patients, f"Practitioner/{clinician['id']}")
        port = free_port()
        app_url = f"http://127.0.0.1:{port}"
        settings = {
            "FHIR_REHAB_SESSION_DIR": config["SESSION_DIR"],
            "FHIR_REHAB_SECRET_KEY_FILE": config["SECRET_KEY_FILE"],
            "FHIR_REHAB_ISS_ALLOWLIST": base,
        }
        served = ServedApp(port, settings, Path(tmp) / "serve.log", workers=args.workers)
        try:
            served.wait_ready()
            browsers = []
            for cookie in cookies:
                b = requests.Session()
                b.cookies.set("fhir_rehab_session", cookie, domain="127.0.0.1", path="/")
                browsers.append(b)

            def app_cycle(i: int) -> None:
                b = browsers[i]
                page = b.get(f"{app_url}/patient/program", timeout=60)
                page.raise_for_status()
                form = {
                    "csrf_token": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
                    "submission_id": SUBMISSION.search(page.text).group(1),  # type: ignore[union-attr]
                    "patient": patients[i],
                    "score": "3",
                }
                after = b.post(f"{app_url}/patient/score/pain", data=form, timeout=60)
                after.raise_for_status()
                if "recorded" not in after.text:
                    raise RuntimeError("the pain score was not recorded")

            plan_of = {
                p: client.search("CarePlan", {"patient": p})["entry"][0]["resource"]["id"] for p in patients
            }
            templates = {}
            for p in patients:
                try:
                    svc.record_pain(_Capture(base), p, 3, Actor(), "SUBMISSION-ID", plan_of[p])
                except _Captured as got:
                    templates[p] = json.dumps(got.bundle)
            direct = [requests.Session() for _ in patients]
            headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}

            def direct_cycle(i: int) -> None:
                h, p = direct[i], patients[i]
                read = json.dumps(
                    {
                        "resourceType": "Bundle",
                        "type": "batch",
                        "entry": [{"request": {"method": "GET", "url": u}} for u in q.patient_record(p)],
                    }
                )
                h.post(base, data=read, headers=headers, timeout=60).raise_for_status()
                write = templates[p].replace("SUBMISSION-ID", str(uuid.uuid4()))
                h.post(base, data=write, headers=headers, timeout=60).raise_for_status()
                h.post(base, data=read, headers=headers, timeout=60).raise_for_status()

            workers = children(served.proc.pid)
            for i in range(len(patients)):  # warm up: each worker's first request loads templates
                app_cycle(i)
                direct_cycle(i)
            for users in args.users:
                for who, cycle, pids in (
                    ("fhir-rehab under gunicorn", app_cycle, workers),
                    ("same FHIR calls, direct", direct_cycle, []),
                ):
                    app_cpu, fhir_cpu = cpu_seconds(pids), cpu_seconds([server._proc.pid])  # type: ignore[union-attr]
                    done, times, errors = run_level(users, args.seconds, cycle)
                    app_cpu = cpu_seconds(pids) - app_cpu
                    fhir_cpu = cpu_seconds([server._proc.pid]) - fhir_cpu  # type: ignore[union-attr]
                    rate = done / args.seconds
                    note = (
                        f"{rate:.1f} cycles/s, p95 {p95(times):.0f} ms, {errors} errors; CPU per cycle: "
                        + (f"app {app_cpu / max(done, 1) * 1000:.0f} ms, " if pids else "")
                        + f"FHIR server {fhir_cpu / max(done, 1) * 1000:.0f} ms"
                    )
                    print(f"  {users:>2} users, {who}: {note}", flush=True)
                    med = statistics.median(times) if times else 0.0
                    rows.append(
                        Row(
                            "load",
                            f"{users} concurrent clinicians: cycle",
                            who,
                            3,
                            0,
                            0,
                            0,
                            med,
                            note=note,
                            extra={
                                "cycles_per_s": rate,
                                "p95_ms": p95(times),
                                "errors": errors,
                                "app_cpu_ms_per_cycle": app_cpu / max(done, 1) * 1000 if pids else None,
                                "fhir_cpu_ms_per_cycle": fhir_cpu / max(done, 1) * 1000,
                            },
                        )
                    )
        finally:
            served.stop()
    for r in rows:
        base_row = next(b for b in rows if b.action == r.action and b.who.startswith("same FHIR"))
        r.ratio = r.total_ms / base_row.total_ms if base_row.total_ms else None
    print_rows(
        f"Clinician cycles (page, pain POST, page) for {args.seconds:.0f} s per level; total ms = p50", rows
    )
    save("load", rows, {"seconds": args.seconds, "workers": args.workers})


class _Captured(Exception):  # noqa: N818 - a control-flow signal
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle


class _Capture(FhirClient):
    def transaction(self, bundle: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise _Captured(bundle)


if __name__ == "__main__":
    main()
