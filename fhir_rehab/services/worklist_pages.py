"""Read the coordinator's worklist a page at a time, and one patient's program timeline.

The list is ordered by the app's own index of its Tasks (services.worklist_index), kept in step
with the FHIR server; the server never sorts or counts the whole Task table. A page is ONE batch
round trip:

1. the Tasks changed since the index last looked (`_lastUpdated=gt`, a few seconds of overlap
   so a write committed late is not missed), whoever changed them;
2. the page's candidate Tasks by `_id`, as they are now, read with the user's own token, their
   patients' names, and the status of the programs of the stage rows (`_elements`: only what
   the rows show and what an action on a row is decided on, services.worklist);
3. on the first page, the practitioners for the Assign list.

The changes and the re-read Tasks go into the index; the page is chosen again from it, and every
row shown is one the server has just returned to this user. A candidate the server no longer
returns (deleted, or not the user's to see) leaves the index. Only if the page then needs a Task
that was in neither answer is there a second request (`_id`). `Cache-Control: no-cache` on the
batch keeps HAPI's 60 s search cache out of it (batch entries inherit the POST's headers).

The first visit to a FHIR base builds the index: unsorted searches for this app's Tasks, followed
page by page (`next` links), a bounded slice per request, resumable, one worker at a time.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir_rehab.fhir.client import FhirClient, next_link
from fhir_rehab.fhir.errors import FhirNotFound
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState, ScreenSummary
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.wire import Resource, fhir_instant, parse_instant, ref_id
from fhir_rehab.resources.worklist import (
    Filters,
    WorkRow,
    changes_query,
    last_updated,
    parse_row,
    parse_screens,
    patient_name,
    patients_by_id_query,
    plans_by_id_query,
    review_rows,
    scan_queries,
    tasks_by_id_query,
)
from fhir_rehab.services.errors import WorklistPreparing
from fhir_rehab.services.record import PatientRecord, read_patient_record
from fhir_rehab.services.worklist_index import WorklistIndex, sort_key

PAGE_SIZE = 20
SLACK = 5  # candidates read beyond the page, in case some are gone
OVERLAP = timedelta(seconds=10)  # re-read this much before the last change seen
BUILD_SECONDS = 3.0  # index building per request; the page says how far it got
LEASE_SECONDS = 30.0
MAX_CHANGE_PAGES = 20  # after a bulk change, follow this many pages of changes per request


@dataclass
class Cursor:
    """Where the next page starts (kept server-side, in the session): the sort key of the
    last row shown, and the held programs already shown (one row per held program)."""

    filters: str
    after: tuple[int, float, str]
    counts: dict[str, int]
    practitioners: list[tuple[str, str]]
    number: int = 2
    held: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filters": self.filters,
            "after": list(self.after),
            "counts": self.counts,
            "practitioners": [list(p) for p in self.practitioners],
            "number": self.number,
            "held": list(self.held),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cursor:
        rank, due, task_id = data["after"]
        return cls(
            str(data["filters"]),
            (int(rank), float(due), str(task_id)),
            {str(k): int(v) for k, v in dict(data["counts"]).items()},
            [(str(a), str(b)) for a, b in data.get("practitioners") or []],
            int(data.get("number", 2)),
            [str(h) for h in data.get("held") or []],
        )


@dataclass(frozen=True)
class WorklistPage:
    """One page: its rows in order, the counts per status, and how to go on (if there is more).

    `tasks`: each row's Task as the server returned it (the row's elements, at its version) and
    `plans`: by Task id, the status of a stage row's program, read in the same batch after that
    Task (so no later than the version shown: services.worklist relies on it); what an action on
    a row is decided on (services.worklist.Seen), so it needs no read of its own."""

    rows: list[WorkRow]
    counts: dict[str, int]
    practitioners: list[tuple[str, str]]
    number: int
    following: Cursor | None
    tasks: dict[str, Resource] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)


# -- keeping the index in step -----------------------------------------------------------
Stamped = tuple[WorkRow, str | None]  # a row and its Task's meta.lastUpdated


def _stamped(
    program: Program, bundle: Resource, patients: dict[str, Resource] | None = None
) -> tuple[list[Stamped], set[str]]:
    """The app's Tasks of a searchset as rows (patient names from `patients`), and the id of
    every Task returned (the app's or not)."""
    resources = [e["resource"] for e in bundle.get("entry") or [] if "resource" in e]
    patients = patients or {}
    tasks = [r for r in resources if r.get("resourceType") == "Task" and r.get("id")]
    rows = [(row, last_updated(t)) for t in tasks if (row := parse_row(program, t, patients)) is not None]
    return rows, {t["id"] for t in tasks}


def _server_time(headers: Any, fallback: datetime) -> datetime:
    """The server's clock (HTTP Date), so the index's watermark is on the server's time."""
    try:
        found = email.utils.parsedate_to_datetime(str(headers.get("Date")))
    except (TypeError, ValueError, IndexError):
        return fallback
    return found.astimezone(UTC) if found.tzinfo else fallback


def prepare_index(
    client: FhirClient,
    program: Program,
    index: WorklistIndex,
    *,
    now: datetime,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Build the index if it is not built yet, for at most `budget` seconds; True when built.

    Resumable: the searches still to follow are kept in the index's meta after every page. An
    expired paging link (404/410, as HAPI's `_getpages`) starts that search again; what was read
    stays. One process builds at a time (a lease in the index)."""
    meta = index.meta()
    if meta.get("built"):
        return True
    if not index.take_lease(f"{os.getpid()}", LEASE_SECONDS):
        return False
    pending: list[list[str]] = meta.get("scan") or [[q, q] for q in scan_queries()]
    read = int(meta.get("scanned") or 0)
    deadline = clock() + (BUILD_SECONDS if budget is None else budget)
    while pending:  # at least one page per call, then as many as the budget allows
        first, url = pending[0]
        try:
            response = client.request("GET", url, headers={"Cache-Control": "no-cache"})
        except FhirNotFound:
            pending[0] = [first, first]
            continue
        bundle = response.body or {}
        rows, _ = _stamped(program, bundle)
        extra: dict[str, Any] = {}
        if "since" not in meta:  # changes from the moment the build began are read afterwards
            started = _server_time(response.headers, now) - OVERLAP
            extra["since"] = meta["since"] = fhir_instant(started)
        following = next_link(bundle)
        pending = ([[first, following]] if following else []) + pending[1:]
        read += len(rows)
        index.apply(rows, scan=pending, scanned=read, **extra)
        if clock() >= deadline:
            break
    if pending:
        return False
    index.set_meta(built=True, scan=None, scanned=read)
    return True


def _candidates(
    index: WorklistIndex,
    filters: Filters,
    me: str | None,
    now: datetime,
    after: tuple[int, float, str] | None,
    held: Iterable[str],
    wanted: int,
) -> list[WorkRow]:
    """The next `wanted` rows in order, a held program once (not again if already shown)."""
    shown = set(held)
    out: list[WorkRow] = []
    while len(out) < wanted:
        batch = index.page(filters, me, now, after=after, limit=wanted * 2)
        for row in batch:
            if row.groups_by_program:
                if row.careplan_id in shown:
                    continue
                shown.add(row.careplan_id or "")
            out.append(row)
            if len(out) == wanted:
                break
        if len(batch) < wanted * 2:
            break
        after = sort_key(batch[-1])
    return out


@dataclass(frozen=True)
class Prefetched:
    """A page's batch answered inside a write's transaction: what it asked, the answers, and the
    server's time (HTTP Date) of the answer."""

    urls: tuple[str, ...]
    answers: tuple[Resource | None, ...]
    server_date: str | None


def page_reads(
    index: WorklistIndex,
    filters: Filters,
    *,
    me: str | None,
    now: datetime,
    page_size: int = PAGE_SIZE,
    cursor: Cursor | None = None,
) -> list[str]:
    """The reads of this page's batch as `read_worklist` would send them now (none while the
    index is not built): a write adds them to its transaction, so the page shown after it
    needs no request of its own."""
    if not index.meta().get("built"):
        return []
    return _plan(index, filters, me, now, page_size, cursor)[2]


def _plan(
    index: WorklistIndex,
    filters: Filters,
    me: str | None,
    now: datetime,
    page_size: int,
    cursor: Cursor | None,
) -> tuple[list[WorkRow], str | None, list[str]]:
    """The page's candidate rows, the index's watermark, and the reads of its batch."""
    after = cursor.after if cursor else None
    held = cursor.held if cursor else []
    candidates = _candidates(index, filters, me, now, after, held, page_size + SLACK)
    since = index.meta().get("since")
    urls = [changes_query(parse_instant(since) or now - OVERLAP)]
    if candidates:
        urls.append(tasks_by_id_query(r.task_id for r in candidates))
        urls.append(patients_by_id_query(r.patient_id for r in candidates if r.patient_id))
        plans = {r.careplan_id for r in candidates if r.kind == "stage" and r.careplan_id}
        if plans:
            urls.append(plans_by_id_query(plans))
    if cursor is None:
        urls.append(q.practitioners())
    return candidates, since, urls


def _batch(client: FhirClient, urls: list[str], now: datetime) -> tuple[list[Resource], datetime]:
    """GET every URL in one batch round trip, past any search cache; each searchset, in order,
    and the server's time of the answer. A failed entry raises what a plain GET would."""
    answers = [answer or {} for answer in client.batch(urls, fresh=True)]
    return answers, _server_time({"Date": client.server_date}, now)


def _watermark(since: str | None, changes: list[Stamped], complete: bool, server_now: datetime) -> str | None:
    """The next `_lastUpdated=gt` bound.

    When every change was read, all that the server had committed OVERLAP before it answered
    has been seen: the bound moves to the server's time less the overlap (not to the newest
    change, or a bulk import would be read again on every page). When the changes were cut
    short (more pages than one request follows), it moves only to the last change read."""
    if complete:
        bound = server_now - OVERLAP
    else:
        seen = [t for _, u in changes if (t := parse_instant(u)) is not None]
        if not seen:
            return since
        bound = max(seen) - timedelta(milliseconds=1)
    current = parse_instant(since)
    return fhir_instant(bound) if current is None or bound > current else since


def read_worklist(
    client: FhirClient,
    program: Program,
    index: WorklistIndex,
    filters: Filters,
    *,
    me: str | None,
    now: datetime,
    page_size: int = PAGE_SIZE,
    cursor: Cursor | None = None,
    prefetched: Prefetched | None = None,
) -> WorklistPage:
    """One page of the worklist, in order: urgent reviews, then stage Tasks by due date.

    Raises WorklistPreparing while the index is built for the first time (bounded work per call).
    `prefetched`: the page's batch as a write already read it (`page_reads`, Transaction.read),
    used instead of the batch when it asked exactly what this page asks.
    """
    if not prepare_index(client, program, index, now=now):
        raise WorklistPreparing(int(index.meta().get("scanned") or 0))
    after = cursor.after if cursor else None
    held = cursor.held if cursor else []
    candidates, since, urls = _plan(index, filters, me, now, page_size, cursor)
    if prefetched is not None and prefetched.urls == tuple(urls):
        answers = [answer or {} for answer in prefetched.answers]
        server_now = _server_time({"Date": prefetched.server_date}, now)
    else:
        answers, server_now = _batch(client, urls, now)
    changed, _ = _stamped(program, answers[0])
    following = next_link(answers[0])
    for _ in range(MAX_CHANGE_PAGES):  # only after a bulk change: more than one page of changes
        if not following:
            break
        bundle = client.next_page({"link": [{"relation": "next", "url": following}]}) or {}
        more, _ = _stamped(program, bundle)
        changed += more
        following = next_link(bundle)
    fresh: list[Stamped] = []
    returned: set[str] = set()
    patients: dict[str, Resource] = {}
    raw = _tasks(answers[0])
    plans: dict[str, str] = {}
    if candidates:
        patients = _patients(answers[2])
        fresh, returned = _stamped(program, answers[1], patients)
        raw.update(_tasks(answers[1]))
        statuses = _statuses(answers[3]) if urls[3:4] and urls[3].startswith("CarePlan?") else {}
        plans = {
            task_id: statuses[plan]
            for task_id, task in raw.items()
            if (plan := next(filter(None, (ref_id(b, "CarePlan") for b in task.get("basedOn") or [])), None))
            in statuses
        }
    gone = [r.task_id for r in candidates if r.task_id not in returned]
    watermark = _watermark(since, changed, following is None, server_now)
    index.apply([*changed, *fresh], removed=gone, since=watermark)
    # Rows as this user just read them: a re-read Task, else a changed one (its patient read below).
    seen = {row.task_id: row for row, _ in [*changed, *fresh]}
    chosen = _candidates(index, filters, me, now, after, held, page_size + 1)
    page = chosen[:page_size]
    missing = [r.task_id for r in page if r.task_id not in seen]
    nameless = {r.patient_id for r in page if r.patient_id and r.patient_id not in patients}
    if missing or nameless:  # rare: a Task neither answer carried, or a patient not read yet
        extra_urls = ([tasks_by_id_query(missing)] if missing else []) + [
            patients_by_id_query(nameless | {r.patient_id for r in page if r.patient_id})
        ]
        extra = [answer or {} for answer in client.batch(extra_urls, fresh=True)]
        patients.update(_patients(extra[-1]))
        if missing:
            rows, returned = _stamped(program, extra[0], patients)
            index.apply(rows, removed=[t for t in missing if t not in returned])
            seen.update({row.task_id: row for row, _ in rows})
            late = _tasks(extra[0])  # read after the programs were: no program status for these
            raw.update(late)
            plans = {k: v for k, v in plans.items() if k not in late}
    shown = [_named(seen[r.task_id], patients) for r in page if r.task_id in seen]
    shown = _with_held_counts(index, shown)
    practitioners = cursor.practitioners if cursor else _practitioners(answers[-1])
    counts = index.counts(filters, me, now)
    next_cursor = None
    if len(chosen) > page_size and shown:
        next_cursor = Cursor(
            filters.key(),
            sort_key(chosen[page_size - 1]),
            counts,
            practitioners,
            (cursor.number + 1) if cursor else 2,
            [*held, *(r.careplan_id or "" for r in shown if r.groups_by_program)],
        )
    return WorklistPage(
        shown,
        counts,
        practitioners,
        cursor.number if cursor else 1,
        next_cursor,
        {r.task_id: raw[r.task_id] for r in shown if r.task_id in raw},
        {r.task_id: plans[r.task_id] for r in shown if r.task_id in plans},
    )


def _tasks(bundle: Resource) -> dict[str, Resource]:
    """The Tasks of a searchset by id (a later one of the same id wins)."""
    return _by_id(bundle, "Task")


def _statuses(bundle: Resource) -> dict[str, str]:
    return {rid: str(r.get("status")) for rid, r in _by_id(bundle, "CarePlan").items()}


def _by_id(bundle: Resource, resource_type: str) -> dict[str, Resource]:
    return {
        r["id"]: r
        for r in (e.get("resource") or {} for e in bundle.get("entry") or [])
        if r.get("resourceType") == resource_type and r.get("id")
    }


def _patients(bundle: Resource) -> dict[str, Resource]:
    return _by_id(bundle, "Patient")


def _named(row: WorkRow, patients: dict[str, Resource]) -> WorkRow:
    """The row with its patient's name as just read."""
    found = patient_name(patients.get(row.patient_id or ""))
    return replace(row, patient_name=found) if found else row


def _practitioners(bundle: Resource) -> list[tuple[str, str]]:
    return [
        (f"Practitioner/{r['id']}", patient_name(r) or f"Practitioner/{r['id']}")
        for r in (e.get("resource") or {} for e in bundle.get("entry") or [])
        if r.get("resourceType") == "Practitioner"
    ]


def _with_held_counts(index: WorklistIndex, rows: list[WorkRow]) -> list[WorkRow]:
    """How many stages each held program on the page has on hold (from the index)."""
    held = index.held_stages(r.careplan_id for r in rows if r.groups_by_program and r.careplan_id)
    return [
        replace(r, stage_count=max(1, held.get(r.careplan_id or "", 1))) if r.groups_by_program else r
        for r in rows
    ]


# -- one patient, as the coordinator sees it ---------------------------------------------
@dataclass(frozen=True)
class Timeline:
    patient: Resource
    state: ProgramState
    screens: list[ScreenSummary]
    reviews: list[WorkRow]


def read_program_record(client: FhirClient, patient_id: str) -> PatientRecord:
    """The coordinator's view of one patient in one batch: no Conditions or Goals (their scopes
    do not cover them), every screen for the timeline, every review."""
    return read_patient_record(client, patient_id, view=q.COORDINATOR_VIEW)


def read_timeline(client: FhirClient, program: Program, patient_id: str) -> Timeline:
    record = read_program_record(client, patient_id)
    return Timeline(
        record.patient,
        record.state(program),
        parse_screens(record.resources),
        review_rows(program, record.resources),
    )
