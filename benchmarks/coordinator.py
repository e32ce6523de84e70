"""Benchmark: the coordinator's actions on the worklist (claim, note, assign, start, hold, resume)
through Flask, the worklist page after each POST included, beside the naive way of doing them.

    python benchmarks/coordinator.py [--tasks 1000] [--repeat 5]

The app: the action is decided on the row the page showed (kept server side) and written as one
transaction: a JSON Patch of what it changes, Provenance, for a stage's start/resume the
open-review guards, and the reads of the page the POST returns to. The naive baseline is the same
app with both shortcuts off: the Task read whole before the update (and, for a stage's
start/resume, its program and open reviews read; for assign, the assignee read), the update,
then the page after read on its own. Same Flask view, template and session; same data; measured
turn about in the same run. The server is sekmet-fhir 0.1.1 on loopback with the worklist
benchmark's seeded data (benchmarks/worklist.py), programs written for its patients.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

import requests
from common import Row, TrafficRecorder, measure, print_rows, save, with_ratios
from worklist import Coordinator, seeded_store

import fhir_rehab.web.coordinator as view
from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.resources.narrative import with_narrative
from fhir_rehab.services.worklist_pages import OVERLAP

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW = re.compile(r'data-task="([^"]+)">(.*?)</tr>', re.S)
VERSION = re.compile(r'name="version" value="([^"]*)"')
NAIVE = "naive read-update-read"
PAGES = {
    "claim": "/worklist?status=ready&owner=unassigned",
    "add note": "/worklist?status=ready&owner=unassigned",
    "assign": "/worklist?status=ready&owner=unassigned",
    "start (stage)": "/worklist?status=ready&owner=unassigned",
    "hold (stage)": "/worklist?status=in-progress&owner=unassigned",
    "resume (stage)": "/worklist?status=on-hold",
}
FIELDS = {
    "claim": {"action": "claim"},
    "add note": {"action": "note", "reason": "Rang the patient, no answer"},
    "assign": {"action": "assign", "owner": "Practitioner/bench-physio"},
    "start (stage)": {"action": "start"},
    "hold (stage)": {"action": "hold", "reason": "Patient away for a week"},
    "resume (stage)": {"action": "resume"},
}


def write_programs(base: str) -> None:
    """A running CarePlan for every seeded patient (the stage Tasks are based on `cp<i>`), the
    Tasks' narratives as the app writes them, and the practitioners (the coordinator signed in,
    the one assign names): one transaction, before anything is measured."""
    http = requests.Session()
    found = http.get(f"{base}/Patient?_count=1000&_elements=id", timeout=300).json()
    entries = [
        {
            "resource": {
                "resourceType": "CarePlan",
                "id": f"cp{p['resource']['id'][1:]}",
                "status": "active",
                "intent": "plan",
                "subject": {"reference": f"Patient/{p['resource']['id']}"},
            },
            "request": {"method": "PUT", "url": f"CarePlan/cp{p['resource']['id'][1:]}"},
        }
        for p in found.get("entry") or []
    ]
    for pid, given, family in (
        ("bench-physio", "Pat", "Physio"),
        ("bench-coordinator", "Bench", "Coordinator"),
    ):
        person = {"resourceType": "Practitioner", "id": pid, "name": [{"given": [given], "family": family}]}
        entries.append({"resource": person, "request": {"method": "PUT", "url": f"Practitioner/{pid}"}})
    for task in FhirClient(base, timeout=600).search_all("Task", {"_count": "1000"}, max_pages=1000):
        # The seed writes the store directly; the app writes every Task with its narrative.
        entries.append(
            {"resource": with_narrative(task), "request": {"method": "PUT", "url": f"Task/{task['id']}"}}
        )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    http.post(base, json=bundle, timeout=600).raise_for_status()


@contextmanager
def naive() -> Iterator[None]:
    """The same app without the two shortcuts: no kept row (the Task is read first) and no page
    reads in the action's transaction (the page after reads its own batch)."""
    seen, page_after = view._seen, view._page_after
    view._seen = lambda *args: None  # type: ignore[assignment]
    view._page_after = lambda *args: []  # type: ignore[assignment]
    try:
        yield
    finally:
        view._seen, view._page_after = seen, page_after  # type: ignore[assignment]


def under_review(row: str) -> bool:
    """The seeded patients with an open red-flag review (one in 25): their stages stay put."""
    patient = re.search(r"/worklist/patient/p(\d+)", row)
    return patient is None or int(patient.group(1)) % 25 == 0


def act(coordinator: Coordinator, action: str) -> Callable[[], object]:
    """Open the page the action is taken from (not measured) and return the measured part: the
    POST on its first row and the page after it (the redirect followed)."""
    page = coordinator.get(PAGES[action])
    found = next((m for m in ROW.finditer(page) if not under_review(m.group(2))), None)
    if found is None:
        raise RuntimeError(f"no row to {action} on {PAGES[action]}")
    task_id, body = found.group(1), found.group(2)
    data = {
        "csrf_token": CSRF.search(page).group(1),  # type: ignore[union-attr]
        "version": VERSION.search(body).group(1),  # type: ignore[union-attr]
        "return_to": PAGES[action],
        **FIELDS[action],
    }

    def post() -> None:
        answer = coordinator.client.post(f"/worklist/task/{task_id}", data=data, follow_redirects=True)
        said = answer.get_data(as_text=True)
        if answer.status_code != 200 or "Not changed" in said:
            raise RuntimeError(f"{action}: HTTP {answer.status_code} {re.findall(r'Not changed[^<]*', said)}")

    return post


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[Row]] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-coordinator-")))
        shutil.copytree(seeded_store(args.tasks), tmp / "fhir")
        server = stack.enter_context(LocalFhirServer(data_dir=tmp / "fhir", startup_timeout=300))
        write_programs(server.base_url)
        coordinator = Coordinator(server.base_url, tmp)
        recorder = stack.enter_context(TrafficRecorder(server.base_url))
        coordinator.get("/worklist")  # builds the index and checks follow-ups once: not measured
        # The setup's bulk writes are "changes" for OVERLAP seconds; let the watermark pass them.
        time.sleep(OVERLAP.total_seconds() + 1)
        coordinator.get("/worklist")
        for _ in range(args.repeat):
            for action in PAGES:
                for who in ("fhir-rehab", NAIVE):
                    with naive() if who == NAIVE else nullcontext():
                        post = act(coordinator, action)
                        row = measure(recorder, post, 1, benchmark="coordinator", action=action, who=who)
                    samples.setdefault((action, who), []).append(row)
    rows = []
    for got in samples.values():
        got.sort(key=lambda r: r.total_ms)
        rows.append(got[len(got) // 2])
    with_ratios(rows, NAIVE)
    for r in rows:
        r.note = (
            "one transaction: patch, Provenance, guards (stage start/resume), page reads"
            if r.who == "fhir-rehab"
            else "Task read whole (+ program and reviews, or the assignee), update, page read"
        )
    print_rows(
        f"Coordinator actions with the page after, {args.tasks:,} Tasks, medians of {args.repeat}", rows
    )
    save("coordinator", rows, {"tasks": args.tasks, "repeat": args.repeat})


if __name__ == "__main__":
    main()
