"""Benchmark: the coordinator worklist's first page, a filtered page and the next page at two
sizes, app side (HTTP requests, median time, time outside HTTP, peak memory) beside the FHIR
server's own time for the same searches sent as plain GETs.

    python benchmarks/worklist.py [--sizes 200 2000] [--repeat 7]

Seeds the local server (sekmet-fhir) through transactions of 100 patients, each with a
CarePlan and its five stage Tasks (1 in 25 also with an urgent review Task).
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS, screen_red_flags
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as PROGRAM
from fhir_rehab.resources.careplan import build_care_plan, build_stage_task, plan_windows
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.tasks import build_review_task, change_task_status
from fhir_rehab.resources.worklist import Filters, build_count_urls, build_streams
from fhir_rehab.services.worklist_pages import Cursor, WorklistPage, read_worklist

PER_TRANSACTION = 100
PAGE_SIZE = 20
ME = "Practitioner/bench-coordinator"
NOW = datetime.now(UTC)
VIEWS: dict[str, Filters] = {
    "first page": Filters(),
    "filtered": Filters(status="ready", owner="unassigned", overdue=True),
    "next page": Filters(),
}


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    path = f"{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": path, "resource": resource, "request": {"method": "PUT", "url": path}}


def patient_entries(i: int, run: str) -> list[dict[str, Any]]:
    """One patient with a program: stage k of 1..3 current (ready or in-progress, owned by the
    benchmark coordinator for one patient in three), earlier stages completed, later drafts."""
    pid, cid, plan_id = f"{run}-p{i}", f"{run}-c{i}", f"{run}-cp{i}"
    started = NOW - timedelta(days=i % 90)
    actor = Actor("Practitioner/bench-clinician", "Bench Clinician")
    patient = {"resourceType": "Patient", "id": pid, "name": [{"given": ["Bench"], "family": f"Patient {i}"}]}
    condition = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [c.ICD_SCIATICA_RIGHT.as_coding()]},
    }
    windows = plan_windows(PROGRAM, started)
    current = i % 3
    tasks = []
    for n, window in enumerate(windows):
        task = build_stage_task(
            PROGRAM, window, f"{run}-{i}", pid, cid, f"CarePlan/{plan_id}", actor, started
        )
        task["id"] = f"{run}-t{i}-{n}"
        if n < current:
            task = change_task_status(
                change_task_status({**task, "status": "ready"}, "in-progress", started), "completed", started
            )
        elif n == current:
            task["status"] = "in-progress" if i % 2 else "ready"
            if i % 3 == 0:
                task["owner"] = {"reference": ME, "display": "Bench Coordinator"}
        tasks.append(task)
    plan = build_care_plan(
        PROGRAM, f"{run}-{i}", pid, cid, actor, started, [], [f"Task/{t['id']}" for t in tasks], None
    )
    plan["id"] = plan_id
    entries = [_put(patient), _put(condition), _put(plan), *map(_put, tasks)]
    if i % 25 == 0:
        outcome = screen_red_flags(
            {**{k: False for k in RED_FLAG_KEYS}, "trauma": True, "bladder-bowel": i % 50 == 0}
        )
        review = build_review_task(
            outcome, pid, f"Patient/{pid}", actor, NOW - timedelta(hours=i % 30), f"{run}-r{i}", plan_id
        )
        review["id"] = f"{run}-r{i}"
        entries.append(_put(review))
    return entries


def seed(client: FhirClient, patients: int, run: str) -> tuple[int, float]:
    """Write `patients` programs, PER_TRANSACTION patients per transaction; (Tasks, seconds)."""
    t0, tasks = time.perf_counter(), 0
    for start in range(0, patients, PER_TRANSACTION):
        entries = [
            e for i in range(start, min(start + PER_TRANSACTION, patients)) for e in patient_entries(i, run)
        ]
        tasks += sum(e["resource"]["resourceType"] == "Task" for e in entries)
        client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return tasks, time.perf_counter() - t0


class TimedClient(FhirClient):
    """Counts the time spent waiting on HTTP, so app-side time = total - HTTP."""

    http_seconds = 0.0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return super().request(*args, **kwargs)
        finally:
            self.http_seconds += time.perf_counter() - t0


def measure(client: TimedClient, fn: Callable[[], object], repeat: int) -> dict[str, float]:
    """Median time and requests over `repeat` runs; peak memory from one more run under
    tracemalloc (kept apart: tracing slows allocation down)."""
    totals, apps, requests_ = [], [], []
    for _ in range(repeat):
        before, waited = client.request_count, client.http_seconds
        t0 = time.perf_counter()
        fn()
        total = time.perf_counter() - t0
        totals.append(total)
        apps.append(total - (client.http_seconds - waited))
        requests_.append(client.request_count - before)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "requests": statistics.median(requests_),
        "total": statistics.median(totals) * 1000,
        "app": statistics.median(apps) * 1000,
        "peak": peak / 1024,
    }


def raw_server_ms(base: str, filters: Filters, repeat: int, *, sort: bool = True) -> float:
    """The same searches the first page sends (streams and counts), as plain GETs, summed;
    `sort=False` drops `_sort` to show what the server's sorting costs."""
    urls = [s.url() for s in build_streams(PROGRAM, filters, ME, NOW, PAGE_SIZE)]
    if not sort:
        urls = [u.replace("&_sort=authored-on", "") for u in urls]
    urls += [url for _, url in build_count_urls(PROGRAM, filters, ME)]
    http = requests.Session()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for url in urls:
            http.get(
                f"{base}/{url}", headers={"Accept": "application/fhir+json"}, timeout=120
            ).raise_for_status()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs) * 1000


def show_page(client: FhirClient, filters: Filters, saved: dict[str, Any] | None) -> WorklistPage:
    """A worklist page: the first, or the one after a cursor saved as the session keeps it."""
    cursor = Cursor.from_dict(saved) if saved else None
    return read_worklist(client, PROGRAM, filters, me=ME, now=NOW, page_size=PAGE_SIZE, cursor=cursor)


def run_size(patients: int, repeat: int) -> list[tuple[Any, ...]]:
    with LocalFhirServer(startup_timeout=120) as server:
        client = TimedClient(server.base_url, timeout=300)
        tasks, seconds = seed(client, patients, f"b{patients}")
        print(f"  seeded {patients} patients, {tasks} Tasks in {seconds:.1f} s", flush=True)
        rows = []
        for view, filters in VIEWS.items():
            page = partial(show_page, client, filters, None)
            if view == "next page":
                first = show_page(client, filters, None).following
                assert first is not None  # noqa: S101 - more than one page was seeded
                page = partial(show_page, client, filters, first.to_dict())
            result = measure(client, page, repeat)
            nan = float("nan")
            server_ms = raw_server_ms(server.base_url, filters, repeat) if view != "next page" else nan
            unsorted_ms = (
                raw_server_ms(server.base_url, filters, repeat, sort=False) if view != "next page" else nan
            )
            rows.append(
                (
                    patients,
                    tasks,
                    view,
                    result["requests"],
                    result["total"],
                    result["app"],
                    result["peak"],
                    server_ms,
                    unsorted_ms,
                )
            )
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        print(f"size {size} patients ...", flush=True)
        rows += run_size(size, args.repeat)
    print(
        f"\nsekmet-fhir 0.1.1 on loopback; page size {PAGE_SIZE}; medians of {args.repeat}; "
        "'next page' is page 2 from a saved cursor"
    )
    head = (
        f"{'patients':>8} {'Tasks':>6} {'view':<11} {'HTTP req':>8} {'total ms':>9} "
        f"{'app ms':>7} {'app peak KiB':>12} {'server GETs ms':>14} {'unsorted ms':>11}"
    )
    print(head)
    print("-" * len(head))
    for patients, tasks, view, reqs, total, app, peak, server, unsorted in rows:
        print(
            f"{patients:>8} {tasks:>6} {view:<11} {reqs:>8.0f} {total:>9.1f} {app:>7.1f} "
            f"{peak:>12.0f} {server:>14.1f} {unsorted:>11.1f}"
        )
    if len(args.sizes) >= 2:
        small, large = args.sizes[0], args.sizes[-1]
        print(f"\ngrowth x{large / small:.0f} in size (largest / smallest):")
        for view in VIEWS:
            a = next(r for r in rows if r[0] == small and r[2] == view)
            b = next(r for r in rows if r[0] == large and r[2] == view)
            server = f"{b[7] / a[7]:.1f}x" if a[7] == a[7] and a[7] else "-"
            print(
                f"  {view:<11} total {b[4] / a[4]:.1f}x, app {b[5] / a[5]:.1f}x, "
                f"app memory {b[6] / a[6]:.1f}x, server {server}"
            )


if __name__ == "__main__":
    main()
