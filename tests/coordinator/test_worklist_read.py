"""Reading the worklist from a server of its own: order, filters, counts and paging."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fhir_rehab.fhir.errors import FhirOutsideBase
from fhir_rehab.resources.worklist import Filters
from fhir_rehab.services.program import complete_stage
from fhir_rehab.services.worklist import Intent, change_task
from fhir_rehab.services.worklist_pages import Cursor, read_worklist
from tests.coordinator.conftest import (
    NOW,
    PROGRAM,
    add_practitioner,
    escalate,
    stage_tasks,
    start_program,
    version,
)


@pytest.fixture(scope="module")
def world(own_fhir):
    """Programs started 40, 10 and 0 days ago (stage 1 is due after 14 days), one started 20
    days ago now on stage 2 and claimed by a coordinator, an urgent review (1 h old) and an
    emergency one (5 h old, overdue: due after 1 h)."""
    me = add_practitioner(own_fhir, "Casey", "Coordinator")
    old = start_program(own_fhir, "old", started=NOW - timedelta(days=40))
    mid = start_program(own_fhir, "mid", started=NOW - timedelta(days=10))
    new = start_program(own_fhir, "new", started=NOW)
    advanced = start_program(own_fhir, "adv", started=NOW - timedelta(days=20), key="eligible-snomed")
    first = stage_tasks(own_fhir, advanced)[0]
    change_task(own_fhir, PROGRAM, first["id"], version(first), Intent("start"), me, NOW)
    complete_stage(
        own_fhir,
        PROGRAM,
        advanced,
        first["id"],
        me,
        now=NOW,
        early_reason="test world",
        max_screen_age_days=30,
    )
    second = stage_tasks(own_fhir, advanced)[1]
    change_task(own_fhir, PROGRAM, second["id"], version(second), Intent("claim"), me, NOW)
    urgent = escalate(own_fhir, "urgent", "night-pain", when=NOW - timedelta(hours=1))
    stat = escalate(own_fhir, "stat", "bladder-bowel", when=NOW - timedelta(hours=5))
    return {
        "me": me,
        "old": old,
        "mid": mid,
        "new": new,
        "advanced": advanced,
        "urgent": urgent,
        "stat": stat,
    }


def page(fhir, world, page_size=50, cursor=None, **filters):
    return read_worklist(
        fhir,
        PROGRAM,
        Filters(**filters),
        me=world["me"].reference,
        now=NOW,
        page_size=page_size,
        cursor=cursor,
    )


def test_reviews_first_then_stage_tasks_by_due_date(own_fhir, world):
    rows = page(own_fhir, world).rows
    assert [(r.patient_id, r.kind, r.priority) for r in rows[:2]] == [
        (world["stat"], "review", "stat"),
        (world["urgent"], "review", "urgent"),
    ]
    stages = [(r.patient_id, r.stage_number) for r in rows[2:]]
    # due: old 40-14 days ago (overdue), mid 4 days from now, adv stage 2 15 days from now,
    # new 14 days from now; drafts are not "open" on the worklist.
    assert stages == [(world["old"], 1), (world["mid"], 1), (world["new"], 1), (world["advanced"], 2)]
    assert rows[2].overdue(NOW) and not rows[3].overdue(NOW)
    assert rows[2].patient_name == "Alex Morgan" and rows[-1].patient_name == "Sam Okafor"
    assert rows[3].days_in_stage(NOW) == 10


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"overdue": True}, ["stat", "old"]),  # stat is due 4 h after, urgent 24 h
        ({"stage": 2}, ["advanced"]),
        ({"owner": "me"}, ["advanced"]),
        ({"owner": "unassigned", "stage": 1}, ["old", "mid", "new"]),
        ({"priority": "stat"}, ["stat"]),
        ({"status": "requested"}, ["stat", "urgent"]),
        ({"status": "completed"}, ["advanced"]),
        ({"status": "draft", "stage": 5}, ["old", "advanced", "mid", "new"]),  # by start
    ],
)
def test_filters(own_fhir, world, filters, expected):
    rows = page(own_fhir, world, **filters).rows
    assert [r.patient_id for r in rows] == [world[k] for k in expected]


def test_counts_per_status(own_fhir, world):
    counts = page(own_fhir, world).counts
    assert counts["requested"] == 2 and counts["ready"] == 4 and counts["completed"] == 1
    assert counts["draft"] == 4 * 4 - 1 and counts["in-progress"] == 0
    assert page(own_fhir, world, owner="me").counts["ready"] == 1


def test_paging_follows_next_links_and_loses_nothing(own_fhir, world):
    everything = page(own_fhir, world).rows
    seen, cursor, pages = [], None, 0
    while True:
        result = page(own_fhir, world, page_size=2, cursor=cursor)
        assert len(result.rows) <= 2
        seen += result.rows
        pages += 1
        if result.following is None:
            break
        # the cursor goes through JSON (the session), as in the app
        cursor = Cursor.from_dict(json.loads(json.dumps(result.following.to_dict())))
    assert [r.task_id for r in seen] == [r.task_id for r in everything]
    assert pages == 3 and result.number == 3


def test_requests_per_page_are_bounded(own_fhir, world):
    before = own_fhir.request_count
    first = page(own_fhir, world, page_size=2)
    assert own_fhir.request_count - before == 1  # one batch: searches, counts, practitioners
    before = own_fhir.request_count
    page(own_fhir, world, page_size=2, cursor=first.following)
    assert own_fhir.request_count - before <= 1 + 7 + 1  # refills, then one re-read


def test_rows_kept_between_pages_are_read_again(own_fhir, world):
    first = page(own_fhir, world, page_size=3)
    kept = first.following.streams
    buffered = next(r for s in kept for r in s.rows)
    task = own_fhir.read("Task", buffered.task_id)
    change_task(own_fhir, PROGRAM, task["id"], version(task), Intent("claim"), world["me"], NOW)
    later = page(own_fhir, world, page_size=3, cursor=first.following).rows
    row = next(r for r in later if r.task_id == buffered.task_id)
    assert row.version == str(int(buffered.version) + 1)
    assert row.owner == world["me"].reference


def test_a_next_link_off_the_base_is_refused(own_fhir, world):
    first = page(own_fhir, world, page_size=1)
    cursor = first.following
    for stream in cursor.streams:
        stream.rows = []
        stream.next = "http://evil.example/fhir/Task?_offset=1"
    with pytest.raises(FhirOutsideBase):
        page(own_fhir, world, page_size=1, cursor=cursor)


def test_counts_honour_every_filter(own_fhir, world):
    # Overdue: only the stat review (5 h old, due after 4 h) and the 40-day-old stage 1.
    overdue = page(own_fhir, world, overdue=True).counts
    assert overdue["requested"] == 1 and overdue["ready"] == 1
    for status, count in overdue.items():  # each chip counts what its list shows
        assert len(page(own_fhir, world, overdue=True, status=status).rows) == count, status
    both = page(own_fhir, world, overdue=True, priority="stat").counts
    assert both["requested"] == 1 and both["ready"] == 0
    assert page(own_fhir, world, stage=2, owner="me").counts["ready"] == 1
