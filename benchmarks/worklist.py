"""Benchmark: the coordinator's worklist as the coordinator gets it (Flask view, template, session)
at 1k, 10k and 100k Tasks on sekmet-fhir, beside the naive server-sorted search for the same page.

    python benchmarks/worklist.py [--tasks 1000 10000 100000] [--repeat 7]

Per size it reports: building the app's index once (first visit to a server), then the first
page, a filtered page and the next page (medians), and the naive baseline: one search of open
stage Tasks sorted by the server (`_sort=authored-on`, what a page needs without an index); up to
`--naive-views-max` Tasks also its filtered search and its next page (cheap at 1,000 Tasks, a
minute each at 10,000).
It also measures a clinician's patient read on the same server, alone and while coordinators
page through the worklist (does anything wait behind the worklist?).

How the data gets there: the FHIR server's data (patients, their stage Tasks, reviews) is
written straight into a sekmet-fhir store file through sekmet's own Store API (its search
indexes included; 100k Tasks take minutes on 2 cores), cached under ~/.cache/fhir-rehab/bench;
each run serves a copy. That only seeds the server. The app's worklist index is then built
the way the app builds it, through FHIR (its unsorted scan searches, page by page), at every
size, and that build is timed (`--prefill-above N` would fill it from the store file instead
and only estimate the build: not the default). All sizes stay up while the page views are
measured turn about (1k, 10k, 100k, 1k, ...), so their ratio shares one load.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from common import CACHE_DIR, Row, TrafficRecorder, measure, print_rows, save, with_ratios

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab import codes as c
from fhir_rehab import create_app
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.store import LAUNCH_KEY, TOKEN_KEY
from fhir_rehab.program.redflags import RED_FLAG_KEYS, screen_red_flags
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as PROGRAM
from fhir_rehab.resources.careplan import build_stage_task, plan_windows
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.tasks import build_review_task, change_task_status
from fhir_rehab.resources.worklist import OPEN, SCAN_COUNT
from fhir_rehab.services.worklist_index import WorklistIndex, index_path
from fhir_rehab.services.worklist_pages import prepare_index

ME = "Practitioner/bench-coordinator"
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
PER_TRANSACTION = 500
NEXT = re.compile(r'href="(/worklist\?[^"]*page=[^"]+)"')
SEED_VERSION = "2"  # bump when the seeded data changes (the cache is keyed by it)


def patient_resources(i: int) -> list[dict[str, Any]]:
    """One patient with a program: stage k of 1..3 current (ready or in-progress, owned by the
    benchmark coordinator for one patient in three), earlier stages completed, later drafts;
    one patient in 25 also has an urgent review."""
    pid, plan_id = f"p{i}", f"cp{i}"
    started = NOW - timedelta(days=i % 90)
    actor = Actor("Practitioner/bench-clinician", "Bench Clinician")
    patient = {"resourceType": "Patient", "id": pid, "name": [{"given": ["Bench"], "family": f"Patient {i}"}]}
    out = [patient]
    current = i % 3
    for n, window in enumerate(plan_windows(PROGRAM, started)):
        task = build_stage_task(PROGRAM, window, f"e{i}", pid, f"c{i}", f"CarePlan/{plan_id}", actor, started)
        task["id"] = f"t{i}-{n}"
        if n < current:
            task = change_task_status(
                change_task_status({**task, "status": "ready"}, "in-progress", started), "completed", started
            )
        elif n == current:
            task["status"] = "in-progress" if i % 2 else "ready"
            if i % 3 == 0:
                task["owner"] = {"reference": ME, "display": "Bench Coordinator"}
        out.append(task)
    if i % 25 == 0:
        outcome = screen_red_flags({**dict.fromkeys(RED_FLAG_KEYS, False), "trauma": True})
        review = build_review_task(
            outcome, pid, f"Patient/{pid}", actor, NOW - timedelta(hours=i % 30), f"r{i}", plan_id
        )
        review["id"] = f"r{i}"
        out.append(review)
    return out


def seeded_store(tasks: int) -> Path:
    """A sekmet-fhir data dir with about `tasks` Tasks, built once and cached."""
    patients = max(1, round(tasks / 5.04))
    cached = CACHE_DIR / f"worklist-v{SEED_VERSION}-{patients}"
    if (cached / "sekmet.db").exists():
        return cached
    import sekmet.fhir.store as sekmet_store

    # The store deep-copies every resource it writes; these dicts are written once and dropped.
    sekmet_store.copy = type("NoCopy", (), {"deepcopy": staticmethod(lambda value: value)})  # type: ignore[attr-defined]
    Store = sekmet_store.Store  # noqa: N806

    building = cached.with_name(cached.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    store = Store(str(building / "sekmet.db"))
    store.conn.execute("PRAGMA synchronous=OFF")  # a cache: rebuilt if a crash leaves it half done
    t0 = time.perf_counter()
    for start in range(0, patients, PER_TRANSACTION):
        with store.transaction():
            for i in range(start, min(start + PER_TRANSACTION, patients)):
                for resource in patient_resources(i):
                    store.update(resource)
        print(f"    seeded {min(start + PER_TRANSACTION, patients)}/{patients} patients", flush=True)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.conn.close()
    building.rename(cached)
    print(f"  seeded {patients} patients in {time.perf_counter() - t0:.0f} s (cached in {cached})")
    return cached


class Coordinator:
    """The real worklist page through Flask: view, template and session, with a launch in the
    session as a coordinator's standalone launch leaves it."""

    def __init__(self, base: str, tmp: Path) -> None:
        self.app = create_app(
            {
                "SECRET_KEY": "bench",
                "SESSION_DIR": str(tmp / "sessions"),
                "WORKLIST_INDEX_DIR": str(tmp / "worklist"),
                "ISS_ALLOWLIST": [base],
            }
        )
        self.base = base
        self.client = self.app.test_client()
        launch = LaunchContext(base, None, None, ME, ("user/Task.rs",), False, None, (), None, "bench", None)
        with self.client.session_transaction() as session:
            session[LAUNCH_KEY] = launch.to_session()
            session[TOKEN_KEY] = {"access_token": "bench", "expires_at": time.time() + 86400}
            session["acting_user"] = {"ref": ME, "name": "Bench Coordinator"}

    def index(self) -> WorklistIndex:
        return WorklistIndex.at(index_path(Path(self.app.config["WORKLIST_INDEX_DIR"]), self.base))

    def get(self, path: str) -> str:
        answer = self.client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {answer.status_code}")
        return answer.get_data(as_text=True)


def prefill(db: Path, index: WorklistIndex, base: str) -> None:
    """The index as the FHIR build would leave it, from the seeded store file: the same rows
    (parse_row over the same Tasks), and the watermark at the server's time less the overlap."""
    import json
    import sqlite3

    from fhir_rehab.resources.wire import fhir_instant
    from fhir_rehab.resources.worklist import parse_row
    from fhir_rehab.services.worklist_pages import OVERLAP

    store = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    batch = []
    for (text,) in store.execute("SELECT json FROM resources WHERE type = 'Task' AND deleted = 0"):
        task = json.loads(text)
        row = parse_row(PROGRAM, task, {})
        if row is not None:
            batch.append((row, task["meta"]["lastUpdated"]))
        if len(batch) >= 5000:
            index.apply(batch)
            batch = []
    index.apply(
        batch,
        built=True,
        scan=None,
        scanned=index.size() + len(batch),
        since=fhir_instant(datetime.now(UTC) - OVERLAP),
    )
    store.close()


def size_of(db: Path) -> int:
    import sqlite3

    store = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(store.execute("SELECT COUNT(*) FROM resources WHERE type = 'Task'").fetchone()[0])
    finally:
        store.close()


def scan_page_seconds(base: str) -> float:
    """One page of the index build's first search (1,000 Tasks), timed."""
    from fhir_rehab.resources.worklist import scan_queries

    t0 = time.perf_counter()
    requests.get(
        f"{base}/{scan_queries()[0]}", headers={"Accept": "application/fhir+json"}, timeout=1800
    ).raise_for_status()
    return time.perf_counter() - t0


def naive_first_page(http: requests.Session, base: str, statuses: tuple[str, ...] = OPEN) -> dict[str, Any]:
    """What a page costs without the index: the server sorts every open stage Task (or those of
    `statuses`: the filtered page's server-side part; its owner and overdue filters would be the
    client's, so this is the baseline's lower bound)."""
    query = urlencode(
        [
            ("identifier", f"{c.TASK_IDENTIFIER}|"),
            ("status", ",".join(statuses)),
            ("_sort", "authored-on"),
            ("_include", "Task:patient"),
            ("_count", "20"),
        ]
    )
    answer = http.get(f"{base}/Task?{query}", headers={"Accept": "application/fhir+json"}, timeout=900)
    answer.raise_for_status()
    return dict(answer.json())


def naive_views(
    recorder: TrafficRecorder, http: requests.Session, base: str, label: str, repeat: int
) -> list[Row]:
    """The naive baseline of the filtered page (its server-side part: the owner and overdue
    filters would be the client's, so a lower bound) and of the next page (the first page's
    `next` link: the server sorts again to page on)."""
    first = naive_first_page(http, base)
    following = next(link["url"] for link in first.get("link") or [] if link.get("relation") == "next")
    accept = {"Accept": "application/fhir+json"}
    return [
        measure(
            recorder,
            lambda: naive_first_page(http, base, ("ready",)),
            repeat,
            benchmark="worklist",
            action=f"{label}: filtered (ready, unassigned, overdue)",
            who="naive sorted search",
            note="the server-side part only (status=ready, sorted); owner and overdue left to the client",
        ),
        measure(
            recorder,
            lambda: http.get(following, headers=accept, timeout=900).raise_for_status(),
            repeat,
            benchmark="worklist",
            action=f"{label}: next page",
            who="naive sorted search",
            note="the first page's next link",
        ),
    ]


def patient_reads(base: str, seconds: float, busy: bool, coordinator: Coordinator | None) -> list[float]:
    """Latencies (ms) of a clinician's patient reads, alone or while coordinators page."""
    stop = threading.Event()

    def page_forever() -> None:
        while not stop.is_set() and coordinator is not None:
            coordinator.get("/worklist")
            coordinator.get("/worklist?status=ready&owner=unassigned&overdue=1")

    worker = threading.Thread(target=page_forever, daemon=True)
    if busy:
        worker.start()
    http, out = requests.Session(), []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        http.get(
            f"{base}/Patient/p1", headers={"Accept": "application/fhir+json"}, timeout=120
        ).raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)
    stop.set()
    if busy:
        worker.join()
    return out


@dataclass
class Size:
    """One size's server, app and figures, kept open while the sizes are measured turn about."""

    tasks: int
    label: str
    server: LocalFhirServer
    coordinator: Coordinator
    recorder: TrafficRecorder
    views: dict[str, Callable[[], object]]
    rows: list[Row]


def open_size(
    stack: ExitStack, tasks: int, naive_repeat: int, naive_max: int, naive_views_max: int, prefill_above: int
) -> Size:
    """Serve a copy of the seeded data, build the app's index (through FHIR unless prefilled),
    and measure what is measured once: the build, the naive sorted search, patient reads."""
    data = seeded_store(tasks)
    rows: list[Row] = []
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-worklist-")))
    served = tmp / "fhir"
    shutil.copytree(data, served)
    server = stack.enter_context(LocalFhirServer(data_dir=served, startup_timeout=300))
    label = f"{tasks:,} Tasks"
    coordinator = Coordinator(server.base_url, tmp)
    recorder = stack.enter_context(TrafficRecorder(server.base_url))
    t0 = time.perf_counter()
    if tasks > prefill_above:
        prefill(served / "sekmet.db", coordinator.index(), server.base_url)
        one_page = scan_page_seconds(server.base_url)
        pages = -(-size_of(served / "sekmet.db") // SCAN_COUNT)
        rows.append(
            Row(
                "worklist",
                f"{label}: build index (once)",
                "fhir-rehab",
                pages,
                0,
                0,
                one_page * pages * 1000,
                one_page * pages * 1000,
                note=f"estimated: {pages} scan pages x {one_page:.1f} s (one measured); the "
                "index for the page figures was filled from the store file (--prefill-above)",
            )
        )
    with coordinator.app.app_context():
        from fhir_rehab.fhir.client import FhirClient

        client = FhirClient(server.base_url, timeout=1800)
        while not prepare_index(client, PROGRAM, coordinator.index(), now=NOW, budget=600):
            pass  # already built when prefilled
    built = recorder.reset()
    build_s = time.perf_counter() - t0
    size = coordinator.index().size()
    print(
        f"  {label}: index built once in {build_s:.1f} s, {built.requests} requests, "
        f"{built.bytes / 1e6:.1f} MB ({size} rows)",
        flush=True,
    )
    if tasks <= prefill_above:
        rows.append(
            Row(
                "worklist",
                f"{label}: build index (once)",
                "fhir-rehab",
                built.requests,
                built.bytes / 1024,
                (build_s - built.seconds) * 1000,
                built.seconds * 1000,
                build_s * 1000,
                note="through FHIR: unsorted searches followed page by page (the app's own path)",
            )
        )
    first_html = coordinator.get("/worklist")
    next_url = NEXT.search(first_html)
    assert next_url, "the first page links to the next"  # noqa: S101
    following = next_url.group(1).replace("&amp;", "&")
    views: dict[str, Callable[[], object]] = {
        "first page": lambda: coordinator.get("/worklist"),
        "filtered (ready, unassigned, overdue)": lambda: coordinator.get(
            "/worklist?status=ready&owner=unassigned&overdue=1"
        ),
        "next page": lambda: coordinator.get(following),
    }
    http = requests.Session()
    if tasks > naive_max:
        rows.append(
            Row(
                "worklist",
                f"{label}: first page",
                "naive sorted search",
                1,
                0,
                0,
                0,
                0,
                note=f"not run above {naive_max:,} Tasks (over a minute at 10,000)",
            )
        )
    else:
        rows.append(
            measure(
                recorder,
                lambda: naive_first_page(http, server.base_url),
                naive_repeat,
                benchmark="worklist",
                action=f"{label}: first page",
                who="naive sorted search",
                note="one server-sorted search, no template",
            )
        )
    if tasks <= naive_views_max:
        rows += naive_views(recorder, http, server.base_url, label, naive_repeat)
    alone = patient_reads(server.base_url, 3, False, None)
    busy = patient_reads(server.base_url, 6, True, coordinator)
    rows.append(
        Row(
            "worklist",
            f"{label}: patient read while paging",
            "clinician",
            1,
            0,
            0,
            statistics.median(busy),
            statistics.median(busy),
            note=f"alone p50 {statistics.median(alone):.1f} ms; while paging p50 "
            f"{statistics.median(busy):.1f} ms, max {max(busy):.1f} ms ({len(busy)} reads)",
        )
    )
    return Size(tasks, label, server, coordinator, recorder, views, rows)


def measure_turn_about(sizes: list[Size], repeat: int) -> list[Row]:
    """Every page view of every size, one size after another within each round: the sizes
    share the machine's load alike, so their ratio is a like-for-like figure."""
    samples: dict[tuple[str, str], list[Row]] = {}
    for _ in range(repeat):
        for size in sizes:
            for view, fn in size.views.items():
                action = f"{size.label}: {view}"
                samples.setdefault((action, view), []).append(
                    measure(size.recorder, fn, 1, benchmark="worklist", action=action, who="fhir-rehab")
                )
    out = []
    for got in samples.values():
        got.sort(key=lambda r: r.total_ms)
        out.append(got[len(got) // 2])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--naive-repeat", type=int, default=1, help="the sorted search is slow at scale")
    parser.add_argument("--naive-max", type=int, default=10000, help="no sorted search above this size")
    parser.add_argument(
        "--naive-views-max",
        type=int,
        default=1000,
        help="the naive filtered and next page (two more sorted searches) only up to this size",
    )
    parser.add_argument(
        "--prefill-above",
        type=int,
        default=10**9,
        help="above this size fill the index from the store file and only estimate the FHIR build "
        "(default: never; every index is built through FHIR, as the app does)",
    )
    args = parser.parse_args()
    rows: list[Row] = []
    with ExitStack() as stack:
        sizes = []
        for tasks in args.tasks:
            print(f"{tasks:,} Tasks ...", flush=True)
            sizes.append(
                open_size(
                    stack, tasks, args.naive_repeat, args.naive_max, args.naive_views_max, args.prefill_above
                )
            )
        views = measure_turn_about(sizes, args.repeat)
        for size in sizes:
            rows += [r for r in views if r.action.startswith(size.label + ":")] + size.rows
    with_ratios(rows, "naive sorted search")
    first = {
        r.action.split(":")[0]: r.total_ms
        for r in rows
        if r.action.endswith(": first page") and r.who == "fhir-rehab"
    }
    smallest, largest = min(args.tasks), max(args.tasks)
    growth = first[f"{largest:,} Tasks"] / first[f"{smallest:,} Tasks"]
    print_rows(f"Worklist through Flask on sekmet-fhir 0.1.1, medians of {args.repeat}", rows)
    print(f"\nfirst page, {largest:,} vs {smallest:,} Tasks: {growth:.2f}x")
    save("worklist", rows, {"first_page_growth": round(growth, 2), "sizes": args.tasks})


if __name__ == "__main__":
    main()
