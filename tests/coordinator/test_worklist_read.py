"""Reading the worklist from a server of its own: order, filters, counts and paging."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirOutsideBase
from fhir_rehab.resources.worklist import Filters
from fhir_rehab.services.program import complete_stage
from fhir_rehab.services.worklist import Intent, change_task
from fhir_rehab.services.worklist_pages import Cursor, Prefetched, page_reads, read_worklist
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


@pytest.fixture(scope="module")
def index(own_index, own_fhir, world):
    return own_index


def page(fhir, index, world, page_size=50, cursor=None, prefetched=None, **filters):
    return read_worklist(
        fhir,
        PROGRAM,
        index,
        Filters(**filters),
        me=world["me"].reference,
        now=NOW,
        page_size=page_size,
        cursor=cursor,
        prefetched=prefetched,
    )


def test_reviews_first_then_stage_tasks_by_due_date(own_fhir, index, world):
    rows = page(own_fhir, index, world).rows
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
def test_filters(own_fhir, index, world, filters, expected):
    rows = page(own_fhir, index, world, **filters).rows
    assert [r.patient_id for r in rows] == [world[k] for k in expected]


def test_counts_per_status(own_fhir, index, world):
    counts = page(own_fhir, index, world).counts
    assert counts["requested"] == 2 and counts["ready"] == 4 and counts["completed"] == 1
    assert counts["draft"] == 4 * 4 - 1 and counts["in-progress"] == 0
    assert page(own_fhir, index, world, owner="me").counts["ready"] == 1


def test_paging_follows_next_links_and_loses_nothing(own_fhir, index, world):
    everything = page(own_fhir, index, world).rows
    seen, cursor, pages = [], None, 0
    while True:
        result = page(own_fhir, index, world, page_size=2, cursor=cursor)
        assert len(result.rows) <= 2
        seen += result.rows
        pages += 1
        if result.following is None:
            break
        # the cursor goes through JSON (the session), as in the app
        cursor = Cursor.from_dict(json.loads(json.dumps(result.following.to_dict())))
    assert [r.task_id for r in seen] == [r.task_id for r in everything]
    assert pages == 3 and result.number == 3


def test_one_round_trip_per_page(own_fhir, index, world):
    page(own_fhir, index, world)  # the index is built (first visit to this server)
    before = own_fhir.request_count
    first = page(own_fhir, index, world, page_size=2)
    assert own_fhir.request_count - before == 1  # one batch: changes, the page's Tasks, practitioners
    before = own_fhir.request_count
    page(own_fhir, index, world, page_size=2, cursor=first.following)
    assert own_fhir.request_count - before == 1


def test_an_action_reads_the_page_after_in_its_own_transaction(own_fhir, index, world):
    """The coordinator's action: the Task read, then ONE transaction that writes it and answers
    the batch of the page shown after it; that page then costs no request."""
    page(own_fhir, index, world)  # the index is built
    reads = page_reads(index, Filters(), me=world["me"].reference, now=NOW, page_size=50)
    task = stage_tasks(own_fhir, world["mid"])[0]
    before = own_fhir.request_count
    done = change_task(
        own_fhir, PROGRAM, task["id"], version(task), Intent("note", "Called"), world["me"], NOW, reads=reads
    )
    assert own_fhir.request_count - before == 2  # the Task by id, the transaction
    prefetched = Prefetched(tuple(reads), done.reads, done.server_date)
    before = own_fhir.request_count
    after = page(own_fhir, index, world, prefetched=prefetched)
    assert own_fhir.request_count - before == 0
    assert after.rows == page(own_fhir, index, world).rows  # the same page a fresh read shows
    noted = next(r for r in after.rows if r.task_id == task["id"])
    assert noted.version != version(task)  # as the write left it


def test_a_task_changed_elsewhere_shows_as_it_is_now(own_fhir, index, world):
    first = page(own_fhir, index, world, page_size=3)
    later = page(own_fhir, index, world, page_size=3, cursor=first.following).rows[0]
    task = own_fhir.read("Task", later.task_id)
    # Another system (here: a plain FHIR update, not through the worklist) claims it.
    task["owner"] = {"reference": world["me"].reference, "display": "Casey Coordinator"}
    own_fhir.update(task, if_match=version(task))
    row = next(
        r
        for r in page(own_fhir, index, world, page_size=3, cursor=first.following).rows
        if r.task_id == task["id"]
    )
    assert row.version == str(int(later.version) + 1)
    assert row.owner == world["me"].reference
    assert task["id"] in [r.task_id for r in page(own_fhir, index, world, owner="me").rows]


def test_a_task_closed_or_deleted_elsewhere_leaves_the_list(own_fhir, own_server, world, tmp_path):
    from fhir_rehab.services.worklist_index import WorklistIndex

    index = WorklistIndex(tmp_path / "index.sqlite3")
    victim = stage_tasks(own_fhir, start_program(own_fhir, "victim", started=NOW - timedelta(days=90)))[0]
    assert page(own_fhir, index, world).rows[2].task_id == victim["id"]  # the most overdue stage
    # No search by _lastUpdated shows a deletion. Deleted on the backing server itself: a
    # HAPI-like server refuses to delete a Task its CarePlan and Provenance still reference.
    FhirClient(own_server.backend.base_url).delete("Task", victim["id"])
    rows = page(own_fhir, index, world).rows
    assert victim["id"] not in [r.task_id for r in rows]
    assert victim["id"] not in [r.task_id for r in page(own_fhir, index, world).rows]


def test_the_index_is_built_a_slice_at_a_time_and_resumes(own_fhir, world, tmp_path, monkeypatch):
    from fhir_rehab.resources import worklist as queries
    from fhir_rehab.services.errors import WorklistPreparing
    from fhir_rehab.services.worklist_index import WorklistIndex

    monkeypatch.setattr(queries, "SCAN_COUNT", 3)
    monkeypatch.setattr("fhir_rehab.services.worklist_pages.BUILD_SECONDS", 0.0)  # one page per visit
    index = WorklistIndex(tmp_path / "index.sqlite3")
    progress = []
    while True:
        try:
            built = page(own_fhir, index, world)
            break
        except WorklistPreparing as preparing:
            progress.append(preparing.tasks_read)
    assert len(progress) >= 3 and progress == sorted(progress)
    whole = WorklistIndex(tmp_path / "whole.sqlite3")
    monkeypatch.setattr(queries, "SCAN_COUNT", 1000)
    monkeypatch.setattr("fhir_rehab.services.worklist_pages.BUILD_SECONDS", 30.0)
    assert [r.task_id for r in built.rows] == [r.task_id for r in page(own_fhir, whole, world).rows]
    assert index.size() == whole.size()


def test_a_paging_link_off_the_base_is_refused(own_fhir, world, tmp_path):
    from fhir_rehab.services.worklist_index import WorklistIndex

    index = WorklistIndex(tmp_path / "index.sqlite3")
    evil = "http://evil.example/fhir/Task?_offset=1"
    index.set_meta(scan=[[evil, evil]])
    with pytest.raises(FhirOutsideBase):
        page(own_fhir, index, world)


def test_counts_honour_every_filter(own_fhir, index, world):
    # Overdue: only the stat review (5 h old, due after 4 h) and the 40-day-old stage 1.
    overdue = page(own_fhir, index, world, overdue=True).counts
    assert overdue["requested"] == 1 and overdue["ready"] == 1
    for status, count in overdue.items():  # each chip counts what its list shows
        assert len(page(own_fhir, index, world, overdue=True, status=status).rows) == count, status
    both = page(own_fhir, index, world, overdue=True, priority="stat").counts
    assert both["requested"] == 1 and both["ready"] == 0
    assert page(own_fhir, index, world, stage=2, owner="me").counts["ready"] == 1
