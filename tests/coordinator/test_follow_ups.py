"""Follow-up Tasks from patients' home logs: no session for 7 days, pain up 3 over the stage's
first score; raised once however often the check runs, listed after the urgent reviews."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from fhir_rehab import codes as c
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.worklist import Filters
from fhir_rehab.services import home
from fhir_rehab.services import program as svc
from fhir_rehab.services.follow_ups import raise_follow_ups
from fhir_rehab.services.worklist import Intent, change_task
from fhir_rehab.services.worklist_pages import read_worklist
from tests.coordinator.conftest import NOW, PROGRAM, add_practitioner, escalate, start_program


def follow_up_tasks(fhir, patient):
    return fhir.search_all("Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_FOLLOW_UP.code}"})


def test_follow_ups_are_raised_once_and_listed_after_urgent_reviews(own_fhir, own_index):
    me = add_practitioner(own_fhir, "Casey", "Coordinator")
    quiet = start_program(own_fhir, "quiet", started=NOW - timedelta(days=10))
    active = start_program(own_fhir, "active", started=NOW - timedelta(days=10))
    patient = Actor(f"Patient/{active}", "Sam")
    keys = [e.key for e in home.read_my_program(own_fhir, PROGRAM, active).state.current.exercises]
    home.log_session(own_fhir, PROGRAM, active, keys, patient, str(uuid.uuid4()), now=NOW - timedelta(days=1))
    svc.record_pain(own_fhir, active, 2, patient, str(uuid.uuid4()), now=NOW - timedelta(days=9))
    svc.record_pain(own_fhir, active, 6, patient, str(uuid.uuid4()), now=NOW - timedelta(days=1))
    stat = escalate(own_fhir, "stat", "bladder-bowel")

    created = raise_follow_ups(own_fhir, PROGRAM, me, NOW)
    assert len(created) == 2
    assert [t["description"] for t in follow_up_tasks(own_fhir, quiet)] == [
        "No exercise session logged for 10 days"
    ]
    pain_up = follow_up_tasks(own_fhir, active)
    assert [t["description"] for t in pain_up] == ["Pain up from 2/10 to 6/10 in this stage"]
    assert pain_up[0]["priority"] == "routine" and pain_up[0]["status"] == "requested"
    assert raise_follow_ups(own_fhir, PROGRAM, me, NOW) == []  # no duplicates
    assert raise_follow_ups(own_fhir, PROGRAM, me, NOW + timedelta(hours=1)) == []
    assert len(follow_up_tasks(own_fhir, quiet)) == 1

    rows = read_worklist(own_fhir, PROGRAM, own_index, Filters(), me=me.reference, now=NOW, page_size=20).rows
    kinds = [(r.kind, r.patient_id) for r in rows]
    assert kinds[0] == ("review", stat)
    assert [k for k, _ in kinds[1:3]] == ["follow-up", "follow-up"] and kinds[3][0] == "stage"
    assert rows[1].title.startswith("Follow up: ")

    # a follow-up is claimed, started and completed like any task (not as a stage)
    task = pain_up[0]
    change_task(own_fhir, PROGRAM, task["id"], task["meta"]["versionId"], Intent("claim"), me, NOW)
    task = own_fhir.read("Task", task["id"])
    change_task(own_fhir, PROGRAM, task["id"], task["meta"]["versionId"], Intent("start"), me, NOW)
    task = own_fhir.read("Task", task["id"])
    change_task(own_fhir, PROGRAM, task["id"], task["meta"]["versionId"], Intent("complete"), me, NOW)
    assert own_fhir.read("Task", task["id"])["status"] == "completed"
    assert raise_follow_ups(own_fhir, PROGRAM, me, NOW) == []  # done once is done


def test_one_follow_up_per_situation_and_the_program_s_own_close_themselves(own_fhir):
    fhir = own_fhir
    coordinator = add_practitioner(fhir, "Robin", "Coordinator")
    run_tag = "one-per-situation"
    """A pain rise raises the urgent repeat-screen follow-up when the score is recorded; the
    home-log check does not add a routine "pain up" call back for the same rise. The coordinator
    cannot complete or cancel what the next screen closes; the next screen does close it."""
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.resources.state import follow_up_code
    from fhir_rehab.resources.worklist import parse_row
    from fhir_rehab.services.errors import WorklistRefused
    from fhir_rehab.services.record import read_patient_record
    from tests.coordinator.conftest import ALL_ABSENT, act

    patient = start_program(fhir, run_tag, started=NOW - timedelta(days=3))
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    me = Actor(f"Patient/{patient}", "Sam")
    svc.record_pain(fhir, patient, 2, me, str(uuid.uuid4()), now=NOW - timedelta(days=2), state=state)
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    svc.record_pain(fhir, patient, 6, me, str(uuid.uuid4()), now=NOW - timedelta(hours=1), state=state)
    raise_follow_ups(fhir, PROGRAM, coordinator, NOW)

    tasks = fhir.search_all("Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_FOLLOW_UP.code}"})
    assert [follow_up_code(t) for t in tasks] == [c.APP_RESCREEN.code]  # no second Task for the rise
    (rescreen,) = tasks
    row = parse_row(SCIATICA_PROGRAM, rescreen, {})
    from fhir_rehab.web.coordinator import available_actions

    assert not {"complete", "cancel", "hold"} & set(available_actions(row, coordinator.reference))
    for action in ("complete", "cancel"):
        with pytest.raises(WorklistRefused, match="closes itself"):
            act(fhir, rescreen, action, coordinator, reason="Called, fine")
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, ALL_ABSENT, coordinator, str(uuid.uuid4()))
    assert fhir.read("Task", rescreen["id"])["status"] == "completed"
