"""Follow-up Tasks from patients' home logs: no session for 7 days, pain up 3 over the stage's
first score; raised once however often the check runs, listed after the urgent reviews."""

from __future__ import annotations

import uuid
from datetime import timedelta

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
