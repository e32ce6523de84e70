"""Read the coordinator's worklist a page at a time, and one patient's program timeline."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fhir_rehab.fhir.client import FhirClient, next_link
from fhir_rehab.fhir.errors import FhirNotFound
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState, ScreenSummary
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.wire import Resource, ref_id
from fhir_rehab.resources.worklist import (
    Filters,
    WorkRow,
    build_count_urls,
    build_streams,
    count_of,
    held_stages_query,
    parse_rows,
    parse_screens,
    patient_name,
    review_rows,
)
from fhir_rehab.services.errors import WorklistExpired
from fhir_rehab.services.record import PatientRecord, read_patient_record

PAGE_SIZE = 20


@dataclass
class StreamState:
    """Where one search stands: rows fetched but not shown yet, and the server's next link."""

    key: str
    next: str | None
    rows: list[WorkRow] = field(default_factory=list)


@dataclass
class Cursor:
    """Everything needed to show the following page (kept server-side, in the session)."""

    filters: str
    streams: list[StreamState]
    counts: dict[str, int]
    practitioners: list[tuple[str, str]]
    number: int = 1
    held: list[str] = field(default_factory=list)  # programs on hold already shown (CarePlan ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filters": self.filters,
            "held": list(self.held),
            "counts": self.counts,
            "number": self.number,
            "practitioners": [list(p) for p in self.practitioners],
            "streams": [
                {"key": s.key, "next": s.next, "rows": [r.to_dict() for r in s.rows]} for s in self.streams
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cursor:
        return cls(
            str(data["filters"]),
            [
                StreamState(s["key"], s.get("next"), [WorkRow.from_dict(r) for r in s["rows"]])
                for s in data["streams"]
            ],
            dict(data["counts"]),
            [(str(a), str(b)) for a, b in data.get("practitioners") or []],
            int(data.get("number", 1)),
            [str(h) for h in data.get("held") or []],
        )


@dataclass(frozen=True)
class WorklistPage:
    """One page: its rows in order, the counts per status, and how to go on (if there is more)."""

    rows: list[WorkRow]
    counts: dict[str, int]
    practitioners: list[tuple[str, str]]
    number: int
    following: Cursor | None


def _first_page(
    client: FhirClient, program: Program, filters: Filters, me: str | None, now: datetime, page_size: int
) -> Cursor:
    """Every stream's first page, the counts and the practitioners: one batch round trip. A
    failed entry raises what a plain read would (401: relaunch, 403: not granted, ...)."""
    streams = build_streams(program, filters, me, now, page_size)
    counts = build_count_urls(program, filters, me, now)
    urls = [s.url() for s in streams] + [url for _, url in counts] + [q.practitioners()]
    answers = [answer or {} for answer in client.batch(urls)]
    states = [
        StreamState(stream.key, next_link(bundle), parse_rows(program, bundle))
        for stream, bundle in zip(streams, answers, strict=False)
    ]
    totals: dict[str, int] = {}
    for (status, _), bundle in zip(counts, answers[len(streams) :], strict=False):
        totals[status] = totals.get(status, 0) + (count_of(bundle) or 0)
    practitioners = [
        (f"Practitioner/{r['id']}", patient_name(r) or f"Practitioner/{r['id']}")
        for r in (e.get("resource") or {} for e in answers[-1].get("entry") or [])
        if r.get("resourceType") == "Practitioner"
    ]
    return Cursor(filters.key(), states, totals, practitioners)


def read_worklist(
    client: FhirClient,
    program: Program,
    filters: Filters,
    *,
    me: str | None,
    now: datetime,
    page_size: int = PAGE_SIZE,
    cursor: Cursor | None = None,
) -> WorklistPage:
    """One page of the worklist, in order: urgent reviews, then stage Tasks by due date.

    Each stream is a server-side search sorted so that its due dates ascend; the page merges
    the streams' heads, fetching a stream's next page (the server's own `next` link) only when
    its fetched rows run out. Work per page is bounded by the page size, whatever the number of
    Tasks. Rows kept from an earlier fetch are re-read in one search, so versions are current.
    """
    fresh = cursor is None
    state = _first_page(client, program, filters, me, now, page_size) if cursor is None else cursor
    kept: set[str] = set() if fresh else {r.task_id for s in state.streams for r in s.rows}
    rows: list[WorkRow] = []
    while len(rows) < page_size:
        for stream in state.streams:
            if not stream.rows and stream.next:
                stream.rows, stream.next = _follow(client, program, stream.next)
        heads = [s for s in state.streams if s.rows]
        if not heads:
            break
        best = min(heads, key=lambda s: s.rows[0].sort_key())
        row = best.rows.pop(0)
        if row.groups_by_program:
            if row.careplan_id in state.held:
                continue  # its program is on the list already (this page or an earlier one)
            state.held.append(row.careplan_id or "")
        rows.append(row)
    stale = [r.task_id for r in rows if r.task_id in kept]
    if stale:
        rows = _refresh(client, program, rows, stale)
    rows = _count_held_stages(client, rows)
    more = any(s.rows or s.next for s in state.streams)
    following = (
        Cursor(state.filters, state.streams, state.counts, state.practitioners, state.number + 1, state.held)
        if more
        else None
    )
    return WorklistPage(rows, state.counts, state.practitioners, state.number, following)


def _follow(client: FhirClient, program: Program, url: str) -> tuple[list[WorkRow], str | None]:
    """The next page of one stream; FhirClient refuses a link outside the FHIR base."""
    try:
        bundle = client.next_page({"link": [{"relation": "next", "url": url}]}) or {}
    except FhirNotFound:
        raise WorklistExpired() from None
    return parse_rows(program, bundle), next_link(bundle)


def _count_held_stages(client: FhirClient, rows: list[WorkRow]) -> list[WorkRow]:
    """How many stages each held program on the page has on hold: one search for the page."""
    plans = sorted({r.careplan_id for r in rows if r.groups_by_program and r.careplan_id})
    if not plans:
        return rows
    bundle = client.search("Task", held_stages_query(plans))
    held: dict[str, int] = {}
    for entry in bundle.get("entry") or []:
        task = entry.get("resource") or {}
        for based in task.get("basedOn") or []:
            plan = ref_id(based, "CarePlan")
            if plan in plans:
                held[plan] = held.get(plan, 0) + 1
    return [
        replace(r, stage_count=max(1, held.get(r.careplan_id or "", 1))) if r.groups_by_program else r
        for r in rows
    ]


def _refresh(client: FhirClient, program: Program, rows: list[WorkRow], stale: list[str]) -> list[WorkRow]:
    """Re-read rows fetched on an earlier page (their version may have moved on since)."""
    bundle = client.search(*q.tasks_with_patients(stale))
    current = {r.task_id: r for r in parse_rows(program, bundle)}
    return [
        current.get(r.task_id, r) if r.task_id in stale else r
        for r in rows
        if r.task_id not in stale or r.task_id in current
    ]


# -- one patient, as the coordinator sees it ---------------------------------------------
@dataclass(frozen=True)
class Timeline:
    patient: Resource
    state: ProgramState
    screens: list[ScreenSummary]
    reviews: list[WorkRow]


def read_program_record(client: FhirClient, patient_id: str, *, with_goals: bool = False) -> PatientRecord:
    """The coordinator's view of one patient in one batch: no Conditions (their scopes do not
    cover them), every screen for the timeline, every review; Goals when the scopes allow."""
    return read_patient_record(client, patient_id, view=replace(q.COORDINATOR_VIEW, goals=with_goals))


def read_timeline(client: FhirClient, program: Program, patient_id: str) -> Timeline:
    record = read_program_record(client, patient_id)
    return Timeline(
        record.patient,
        record.state(program),
        parse_screens(record.resources),
        review_rows(program, record.resources),
    )
