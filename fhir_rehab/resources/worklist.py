"""Worklist searches and rows: which Task searches make the list, and each Task as a row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fhir_rehab import codes as c
from fhir_rehab.program.lifecycle import ACTIONABLE_STATUSES
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ScreenSummary
from fhir_rehab.program.redflags import ESCALATIONS, LEVEL_ORDER, Level
from fhir_rehab.resources.state import (
    follow_up_code,
    is_follow_up_task,
    is_review_task,
    parse_screen_panel,
    parse_stage_task,
    red_flag_panels,
)
from fhir_rehab.resources.tasks import FOLLOW_UP_RULES
from fhir_rehab.resources.wire import Resource, codes_of, fhir_instant, parse_instant, ref_id

# "Open" on the worklist: what a coordinator can act on now (drafts are later stages).
OPEN = ACTIONABLE_STATUSES
STATUSES = (
    "requested",
    "received",
    "accepted",
    "ready",
    "in-progress",
    "on-hold",
    "draft",
    "completed",
    "cancelled",
    "failed",
    "rejected",
    "entered-in-error",
)
COUNTED = ("requested", "accepted", "ready", "in-progress", "on-hold", "draft", "completed", "cancelled")
PRIORITIES = ("stat", "asap", "urgent", "routine")  # R4 request-priority, most urgent first
OWNERS = ("anyone", "me", "unassigned")
# Review Tasks the app writes carry their level's priority and are due its delay later,
# most urgent level first (program.redflags.ESCALATIONS).
REVIEW_PRIORITY: dict[str, Level] = {ESCALATIONS[level].priority: level for level in LEVEL_ORDER}


@dataclass(frozen=True)
class Filters:
    """What the coordinator asked to see."""

    status: str = "open"  # "open" or one R4 Task status
    stage: int | None = None
    owner: str = "anyone"  # "anyone" | "me" | "unassigned"
    priority: str | None = None
    overdue: bool = False

    def key(self) -> str:
        return urlencode(self.query())

    def query(self) -> dict[str, str]:
        """The filters as page query parameters (defaults left out)."""
        out = {"status": self.status, "owner": self.owner}
        if self.stage is not None:
            out["stage"] = str(self.stage)
        if self.priority:
            out["priority"] = self.priority
        if self.overdue:
            out["overdue"] = "1"
        return out


def parse_filters(args: Any, program: Program) -> Filters:
    """Filters from query arguments; anything unknown falls back to its default.

    >>> from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as p
    >>> parse_filters({"status": "ready", "stage": "2", "owner": "x", "overdue": "1"}, p)
    Filters(status='ready', stage=2, owner='anyone', priority=None, overdue=True)
    >>> parse_filters({"stage": "9", "priority": "stat"}, p).stage is None
    True
    """
    status = args.get("status")
    stage = args.get("stage") or ""
    numbers = {str(s.number): s.number for s in program.stages}
    return Filters(
        status=status if status in (*STATUSES, "open") else "open",
        stage=numbers.get(stage),
        owner=args.get("owner") if args.get("owner") in OWNERS else "anyone",
        priority=args.get("priority") if args.get("priority") in PRIORITIES else None,
        overdue=args.get("overdue") == "1",
    )


@dataclass(frozen=True)
class WorkRow:
    """One Task on the worklist, flat and JSON-ready (kept in the session between pages)."""

    task_id: str
    version: str | None
    kind: str  # "review" | "stage"
    status: str
    priority: str
    title: str
    patient_id: str | None
    patient_name: str
    stage_number: int | None
    due: str | None  # restriction.period.end
    started: str | None  # executionPeriod.start
    planned_start: str | None
    authored: str | None
    owner: str | None
    owner_name: str | None
    status_reason: str | None
    last_modified: str | None
    red_flag_hold: bool
    rank: int
    careplan_id: str | None = None  # the program (stage Tasks are basedOn its CarePlan)
    # a follow-up that closes itself (the next screen, a clinician's recorded review): not the
    # coordinator's to complete, cancel or hold
    closes_itself: bool = False
    red_flags: str | None = None  # a review: the red flags it is for, in words
    stage_count: int = 1  # stages of this program the row stands for (held stages: one row)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkRow:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @property
    def held(self) -> bool:
        """A stage of a held program: on hold (it had started), or kept from starting by a
        red flag (R4 keeps a stage that never started `ready`; its reason says why)."""
        return self.kind == "stage" and (
            self.status == "on-hold" or (self.red_flag_hold and self.status in OPEN)
        )

    @property
    def list_status(self) -> str:
        """The status the list files the row under: a held stage is "on hold" whatever its
        Task status (a coordinator looking for held programs finds them all)."""
        return "on-hold" if self.held else self.status

    @property
    def groups_by_program(self) -> bool:
        """A held stage: a program on hold holds every open stage, and the list shows the
        program once (with the number of stages held) rather than one row per stage."""
        return self.held and bool(self.careplan_id)

    @property
    def due_at(self) -> datetime | None:
        return parse_instant(self.due)

    def sort_key(self) -> tuple[int, float, str]:
        due = self.due_at
        return (self.rank, due.timestamp() if due else float("inf"), self.task_id)

    def overdue(self, now: datetime) -> bool:
        due = self.due_at
        return due is not None and due < now

    def days_in_stage(self, now: datetime) -> int | None:
        """Days since the stage started (or, not started yet, since it was planned to)."""
        since = parse_instant(self.started or self.planned_start or self.authored)
        return max(0, (now - since).days) if since else None


def patient_name(patient: Resource | None) -> str:
    """'Given Family' of a Patient, or its text name.

    >>> patient_name({"name": [{"given": ["Ann", "B"], "family": "Lee"}]})
    'Ann B Lee'
    >>> patient_name(None)
    ''
    """
    names = (patient or {}).get("name") or []
    if not names:
        return ""
    name = names[0]
    return str(name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])).strip()


def is_app_task(task: Resource) -> bool:
    """This app's Task: a stage Task (our identifier system), an urgent review or a follow-up
    (our codes)."""
    ours = any(i.get("system") == c.TASK_IDENTIFIER for i in task.get("identifier") or [])
    return task.get("resourceType") == "Task" and (ours or is_review_task(task) or is_follow_up_task(task))


def task_kind(task: Resource) -> str:
    """ "review" (red-flag medical review), "follow-up" (any follow-up for the care team) or
    "stage": the one place a Task's kind is decided (worklist rows and coordinator actions)."""
    if is_review_task(task):
        return "review"
    return "follow-up" if is_follow_up_task(task) else "stage"


def closes_itself(task: Resource) -> bool:
    """A follow-up the program closes (the next screen, or a clinician's recorded review)."""
    rule = FOLLOW_UP_RULES.get(follow_up_code(task) or "")
    return rule is not None and rule.closed_by is not None


def parse_row(program: Program, task: Resource, patients: dict[str, Resource]) -> WorkRow | None:
    """A Task as a row, or None when it is not one of this app's."""
    if not is_app_task(task):
        return None
    kind = task_kind(task)
    stage = parse_stage_task(program, task) if kind == "stage" else None
    patient_id = ref_id(task.get("for"), "Patient")
    owner = task.get("owner") or {}
    reason = task.get("statusReason") or {}
    restriction = (task.get("restriction") or {}).get("period") or {}
    priority = str(task.get("priority") or "routine")
    if stage:
        title = f"Stage {stage.stage.number}: {stage.stage.title}"
    elif kind == "review":
        title = c.APP_MEDICAL_REVIEW.display
    elif kind == "follow-up":
        title = f"Follow up: {task.get('description') or c.APP_FOLLOW_UP.display}"
    else:
        title = str((task.get("code") or {}).get("text", "Task"))
    return WorkRow(
        task_id=task["id"],
        version=(task.get("meta") or {}).get("versionId"),
        kind=kind,
        status=task["status"],
        priority=priority,
        title=title,
        patient_id=patient_id,
        patient_name=patient_name(patients.get(patient_id or "")) or f"Patient/{patient_id}",
        stage_number=stage.stage.number if stage else None,
        due=restriction.get("end"),
        started=(task.get("executionPeriod") or {}).get("start"),
        planned_start=restriction.get("start"),
        authored=task.get("authoredOn"),
        owner=owner.get("reference"),
        owner_name=owner.get("display"),
        status_reason=reason.get("text"),
        last_modified=task.get("lastModified"),
        red_flag_hold=(c.APP_RED_FLAG_HOLD.system, c.APP_RED_FLAG_HOLD.code) in codes_of(reason),
        # urgent reviews by priority, then every follow-up, then the stages
        rank=REVIEW_RANK.get(priority, FOLLOW_UP_RANK)
        if kind == "review"
        else FOLLOW_UP_RANK
        if kind == "follow-up"
        else STAGE_RANK,
        careplan_id=next(filter(None, (ref_id(b, "CarePlan") for b in task.get("basedOn") or [])), None),
        red_flags=review_red_flags(task) if kind == "review" else None,
        closes_itself=closes_itself(task),
    )


_FLAGS_PREFIX = "Red flags present: "


def review_red_flags(task: Resource) -> str | None:
    """The red flags a review Task is for, in words, from the description the app writes
    ("Red flags present: A; B. <advice>"); None when it says nothing the app recognises.

    >>> review_red_flags({"description": "Red flags present: Saddle anaesthesia; Trauma. Refer now."})
    'Saddle anaesthesia; Trauma'
    >>> review_red_flags({"description": "something else"}) is None
    True
    """
    text = str(task.get("description") or "")
    if not text.startswith(_FLAGS_PREFIX):
        return None
    found = text[len(_FLAGS_PREFIX) :].split(". ", 1)[0].rstrip(".").strip()
    return found or None


REVIEW_RANK = {priority: rank for rank, priority in enumerate(REVIEW_PRIORITY)}
FOLLOW_UP_RANK = len(REVIEW_PRIORITY)  # after the urgent reviews, before the stages
STAGE_RANK = FOLLOW_UP_RANK + 1


def parse_rows(program: Program, bundle: Resource) -> list[WorkRow]:
    """The matched Tasks of a searchset as rows, patient names from the included Patients."""
    resources = [e["resource"] for e in bundle.get("entry") or [] if "resource" in e]
    patients = {r["id"]: r for r in resources if r.get("resourceType") == "Patient"}
    rows = (parse_row(program, r, patients) for r in resources if r.get("resourceType") == "Task")
    return [row for row in rows if row is not None]


def count_of(bundle: Resource | None) -> int | None:
    total = (bundle or {}).get("total")
    return int(total) if isinstance(total, int) else None


# -- the coordinator's view of one patient --------------------------------------------------
def parse_screens(resources: Iterable[Resource]) -> list[ScreenSummary]:
    """Every red-flag screen (panel with its answers, read fail-closed), newest first."""
    resources = list(resources)
    return [parse_screen_panel(panel, resources) for panel in red_flag_panels(resources)]


def review_rows(program: Program, resources: Iterable[Resource]) -> list[WorkRow]:
    tasks = [r for r in resources if r.get("resourceType") == "Task" and is_review_task(r)]
    rows = [parse_row(program, t, {}) for t in tasks]
    return sorted((r for r in rows if r), key=lambda r: r.authored or "", reverse=True)


# -- the searches the worklist index is kept by (services.worklist_pages) --------------------
# Only what a row shows (and what tells this app's Tasks apart), so a page downloads little, plus
# what a coordinator's action changes on the row the user saw (services.worklist patches those
# elements instead of reading the whole Task first): `intent` (required), `businessStatus` (the
# narrative shows it) and `note` (a note is appended to the notes read; JSON Patch cannot append
# to an array it does not know exists).
# No `_include=Task:patient`: on sekmet-fhir 0.1.1 it cost 2 s for 25 Tasks at 10k Tasks (0.004 s
# without); the page's patients are read by `_id` in the same batch instead.
ROW_ELEMENTS = (
    "identifier,status,statusReason,code,reasonCode,description,priority,for,basedOn,owner,restriction,"
    "executionPeriod,authoredOn,lastModified,instantiatesCanonical,intent,businessStatus,note"
)
SCAN_COUNT = 1000  # a server caps it to its own maximum (HAPI: 500) and pages on
CHANGES_COUNT = 500


def scan_queries() -> list[str]:
    """Every Task of this app, unsorted (no server-side sort over the table): stage Tasks by
    their identifier system, reviews and follow-ups by their codes. Followed to the end to build the index."""
    common = [("_count", str(SCAN_COUNT)), ("_elements", ROW_ELEMENTS)]
    return [
        "Task?" + urlencode([("identifier", f"{c.TASK_IDENTIFIER}|"), *common]),
        "Task?"
        + urlencode([("code", f"{c.APP_MEDICAL_REVIEW.system}|{c.APP_MEDICAL_REVIEW.code}"), *common]),
        # every follow-up; the retired codes find those written before the kinds were one
        "Task?"
        + urlencode(
            [
                (
                    "code",
                    ",".join(
                        f"{code.system}|{code.code}"
                        for code in (c.APP_FOLLOW_UP, c.APP_RESCREEN, c.APP_PROGRESS_REVIEW)
                    ),
                ),
                *common,
            ]
        ),
    ]


def changes_query(since: datetime) -> str:
    """Tasks changed after `since` (any system's change bumps meta.lastUpdated), oldest first.

    `sa` (starts after, R4 search 3.1.1.4.2; HAPI supports it) rather than `gt`: the same Tasks
    for an instant, and sekmet-fhir 0.1.1 answers it from its date index (28 ms at 10k Tasks,
    against 183 ms for `gt`, which scans every Task).

    >>> from datetime import UTC
    >>> changes_query(datetime(2026, 1, 2, tzinfo=UTC)).split("&")[0]
    'Task?_lastUpdated=sa2026-01-02T00%3A00%3A00.000%2B00%3A00'
    """
    return "Task?" + urlencode(
        [
            ("_lastUpdated", f"sa{fhir_instant(since)}"),
            ("_sort", "_lastUpdated"),
            ("_count", str(CHANGES_COUNT)),
            ("_elements", ROW_ELEMENTS),
        ]
    )


def tasks_by_id_query(ids: Iterable[str]) -> str:
    """These Tasks as they are now, with their patients."""
    wanted = list(ids)
    return "Task?" + urlencode(
        [
            ("_id", ",".join(wanted)),
            ("_count", str(max(1, len(wanted)))),
            ("_elements", ROW_ELEMENTS),
        ]
    )


def plans_by_id_query(ids: Iterable[str]) -> str:
    """These programs' statuses (a stage starts or resumes only in a running program)."""
    wanted = sorted(set(ids))
    return "CarePlan?" + urlencode(
        [("_id", ",".join(wanted)), ("_count", str(max(1, len(wanted)))), ("_elements", "status")]
    )


def patients_by_id_query(ids: Iterable[str]) -> str:
    """These patients' names."""
    wanted = sorted(set(ids))
    return "Patient?" + urlencode(
        [("_id", ",".join(wanted)), ("_count", str(max(1, len(wanted)))), ("_elements", "name")]
    )


def last_updated(resource: Resource) -> str | None:
    return (resource.get("meta") or {}).get("lastUpdated")
