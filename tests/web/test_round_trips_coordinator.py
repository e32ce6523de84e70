"""One round trip to the FHIR server per coordinator action, the worklist page after the POST
included, in both server profiles; and the one-request writes still fail closed when the row
the page showed is stale (someone changed the Task, a red flag held the program, a review was
opened, or opened and closed, after the page)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ehr_sandbox.runner import SandboxStack
from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirInvalid
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.narrative import with_narrative
from fhir_rehab.resources.patch import patch_document
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.tasks import build_follow_up
from fhir_rehab.services import program as svc
from fhir_rehab.services.writes import commit
from tests.support.profiles import profile_server
from tests.web.conftest import CSRF
from tests.web.test_worklist import Coordinator, start_program, text

POSITIVE = {**{key: False for key in RED_FLAG_KEYS}, "rectal-fullness": True}


@pytest.fixture(scope="module")
def stack(fhir_profile: str) -> Iterator[SandboxStack]:
    with (
        profile_server(fhir_profile) as server,
        SandboxStack(
            fhir_base=server.base_url, auto_approve=True, app_config={"WORKLIST_PAGE_SIZE": 20}
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def backing(stack: SandboxStack) -> FhirClient:
    return FhirClient(stack.backing_fhir_base)


@pytest.fixture
def coordinator(stack: SandboxStack) -> Coordinator:
    person = Coordinator(stack)
    assert person.launch().status_code == 200
    return person


def one_request(fhir_calls: list[str], response, words: str) -> None:
    """The action said `words` on the worklist page after it, and cost one request in all."""
    assert words in text(response), text(response)[-1500:]
    assert response.url.split("?")[0].endswith("/worklist"), response.url
    assert len(fhir_calls) == 1, fhir_calls
    assert fhir_calls[0].startswith("POST") and "transaction: PATCH Task" in fhir_calls[0], fhir_calls


def roster(page: str) -> list[tuple[str, str]]:
    """The practitioners the page's Assign lists offer (reference, name)."""
    return re.findall(r'<option value="(Practitioner/[^"]+)">([^<]+)</option>', page)


def add_follow_up(backing: FhirClient, patient: str, *, narrative: bool = True) -> str:
    """A call-back follow-up Task (the coordinator's own to complete or cancel), with the
    narrative the app writes, or (`narrative=False`) none, as another system might write it."""
    key = f"follow-up.{uuid.uuid4().hex}"
    task = build_follow_up(c.APP_FOLLOW_UP, "Call back", patient, None, Actor(), datetime.now(UTC), key)
    return str(backing.create(with_narrative(task) if narrative else task).body["id"])


def test_every_coordinator_action_is_one_round_trip(coordinator, backing, fhir_calls):
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)

    fhir_calls.clear()
    one_request(fhir_calls, coordinator.act(row, "claim"), "Task claimed.")

    row = coordinator.row_for(patient)  # the page after the claim: its rows are kept
    fhir_calls.clear()
    one_request(fhir_calls, coordinator.act(row, "note", reason="Rang, no answer"), "Note added.")

    reference, name = roster(coordinator.page)[0]
    row = coordinator.row_for(patient)
    fhir_calls.clear()
    assigned = coordinator.act(row, "assign", owner=reference)
    one_request(fhir_calls, assigned, f"Assigned to {name}.")  # the name from the roster: no read

    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    fhir_calls.clear()
    started = coordinator.act(row, "start")
    one_request(fhir_calls, started, "Task is now under way.")

    coordinator.open(stage="1", status="in-progress")
    row = coordinator.row_for(patient)
    fhir_calls.clear()
    one_request(fhir_calls, coordinator.act(row, "hold", reason="Patient away"), "Task is now on hold.")

    coordinator.open(stage="1", status="on-hold")
    row = coordinator.row_for(patient)
    fhir_calls.clear()
    one_request(fhir_calls, coordinator.act(row, "resume"), "Task is now under way.")

    task = backing.read("Task", row.task_id)
    assert task["status"] == "in-progress" and task["owner"]["display"] == name
    assert [n["text"] for n in task["note"]] == ["Rang, no answer"]
    assert task["businessStatus"]["coding"][0]["code"] == c.BS_IN_PROGRESS.code
    # The narrative an EHR shows follows the change (rebuilt from the patched elements).
    assert "under way" in task["text"]["div"] and name in task["text"]["div"]
    # Everything else the page did not read is kept (a PUT of the row would have dropped it).
    assert task["input"] and task["requester"]


def test_accept_start_complete_and_cancel_of_a_follow_up_are_one_round_trip(coordinator, backing, fhir_calls):
    patient, _ = start_program(backing)
    first, second = add_follow_up(backing, patient), add_follow_up(backing, patient)

    def act(task_id: str, action: str, words: str, **fields: str) -> None:
        coordinator.open(status="open")
        row = next(r for r in coordinator.rows() if r.task_id == task_id)
        fhir_calls.clear()
        one_request(fhir_calls, coordinator.act(row, action, **fields), words)

    coordinator.open(status="open")
    me = next(ref for ref, name in roster(coordinator.page) if name == "Sandbox Practitioner")
    act(first, "assign", "Assigned to Sandbox Practitioner.", owner=me)
    act(first, "accept", "Task accepted.")
    act(first, "start", "Task is now under way.")
    act(first, "complete", "Task is now completed.")
    act(second, "claim", "Task claimed.")
    act(second, "cancel", "Task is now stopped.", reason="Spoke to the patient")
    assert backing.read("Task", first)["status"] == "completed"
    assert backing.read("Task", second)["status"] == "cancelled"


def test_a_task_without_the_apps_narrative_is_changed_whole_and_gets_one(coordinator, backing, fhir_calls):
    """The patch replaces only a narrative the app generated (it tests that first); a Task
    whose narrative someone else wrote, or that has none, is read and updated whole instead."""
    patient, _ = start_program(backing)
    task_id = add_follow_up(backing, patient, narrative=False)
    coordinator.open(status="requested")
    row = next(r for r in coordinator.rows() if r.task_id == task_id)
    fhir_calls.clear()
    claimed = coordinator.act(row, "claim")
    assert "Task claimed." in text(claimed)
    assert [call.split(":")[0] for call in fhir_calls] == [
        "POST /fhir transaction",  # the patch: its narrative test fails, nothing written
        f"GET /fhir/Task/{task_id} ",
        "POST /fhir transaction",  # the update, If-Match on the version the row showed
    ], fhir_calls
    task = backing.read("Task", task_id)
    assert task["status"] == "accepted" and "accepted" in task["text"]["div"]


def test_a_task_changed_after_the_page_gets_the_conflict_page(coordinator, backing, fhir_calls):
    """The patch tests the version the row showed: someone else's change fails it whole, and the
    coordinator sees who changed what, their own change kept to re-apply."""
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    task = backing.read("Task", row.task_id)
    backing.update({**task, "priority": "urgent"}, if_match=task["meta"]["versionId"])

    lost = coordinator.act(row, "note", reason="Waiting for the MRI report")
    assert lost.status_code == 409 and "Someone else changed this task" in lost.text
    assert "Waiting for the MRI report" in text(lost)
    now = backing.read("Task", row.task_id)
    assert int(now["meta"]["versionId"]) == int(row.version) + 1 and not now.get("note")

    # "Apply my change" to the Task as the conflict page showed it: one request again.
    data = {
        "csrf_token": CSRF.search(lost.text).group(1),
        "version": re.search(r'name="version" value="([^"]+)"', lost.text).group(1),
        "action": "note",
        "reason": "Waiting for the MRI report",
        "return_to": "/worklist",
    }
    fhir_calls.clear()
    again = coordinator.http.post(
        f"{coordinator.stack.app_url}/worklist/task/{row.task_id}", data=data, timeout=30
    )
    one_request(fhir_calls, again, "Note added.")
    now = backing.read("Task", row.task_id)
    assert now["priority"] == "urgent" and [n["text"] for n in now["note"]] == ["Waiting for the MRI report"]


def test_start_is_refused_when_a_red_flag_held_the_program_after_the_page(coordinator, backing):
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    assert "start" in row.actions
    svc.record_screen(backing, SCIATICA_PROGRAM, patient, POSITIVE, Actor(), str(uuid.uuid4()))

    refused = coordinator.act(row, "start")
    assert refused.status_code == 409  # the hold changed the stage: the current state is shown
    task = backing.read("Task", row.task_id)
    assert task["status"] == "ready" and "red flag" in task["statusReason"]["text"].lower()


def test_start_is_refused_when_a_review_opened_without_changing_the_plan(coordinator, backing):
    """A patient's self-check opens a review and changes neither the plan nor the stage: the
    open-review guard inside the transaction fails the start."""
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    svc.record_screen(
        backing, SCIATICA_PROGRAM, patient, POSITIVE, Actor(), str(uuid.uuid4()), hold_program=False
    )
    assert backing.read("Task", row.task_id)["meta"]["versionId"] == row.version

    refused = coordinator.act(row, "start")
    assert "Not changed: This stage is on hold because a red flag is present" in text(refused)
    assert backing.read("Task", row.task_id)["status"] == "ready"


def test_start_is_refused_while_a_review_opened_before_the_stage_last_changed_is_open(coordinator, backing):
    """The review is older than the stage's latest version (a note was added since), so only the
    guard on open reviews can see it."""
    patient, _ = start_program(backing)
    svc.record_screen(
        backing, SCIATICA_PROGRAM, patient, POSITIVE, Actor(), str(uuid.uuid4()), hold_program=False
    )
    time.sleep(1.5)  # past the since-guard's slack: that guard no longer sees the review
    coordinator.open(stage="1", status="ready")
    coordinator.act(coordinator.row_for(patient), "note", reason="Patient rang")
    row = coordinator.row_for(patient)  # the page after the note: the stage's newest version
    refused = coordinator.act(row, "start")
    assert "Not changed: This stage is on hold because a red flag is present" in text(refused)
    assert backing.read("Task", row.task_id)["status"] == "ready"


def test_resume_is_refused_when_a_review_opened_and_closed_after_the_page(coordinator, backing):
    """The program held for a red flag while the stage was already on hold (the hold leaves such
    a stage as it is) and the review closed since: no review is open, the stage is unchanged,
    but the plan is still on hold. The guard on reviews changed since the stage did fails it."""
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    coordinator.act(coordinator.row_for(patient), "start")
    coordinator.open(stage="1", status="in-progress")
    coordinator.act(coordinator.row_for(patient), "hold", reason="Patient away")
    coordinator.open(stage="1", status="on-hold")
    row = coordinator.row_for(patient)
    assert "resume" in row.actions

    svc.record_screen(backing, SCIATICA_PROGRAM, patient, POSITIVE, Actor(), str(uuid.uuid4()))
    assert backing.read("Task", row.task_id)["meta"]["versionId"] == row.version
    review = backing.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )
    backing.update({**review[0], "status": "completed"}, if_match=review[0]["meta"]["versionId"])

    refused = coordinator.act(row, "resume")
    assert "Not changed: The program is not running" in text(refused)
    assert backing.read("Task", row.task_id)["status"] == "on-hold"


def test_a_page_that_knew_the_program_was_held_refuses_without_a_request(coordinator, backing, fhir_calls):
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    coordinator.act(coordinator.row_for(patient), "start")
    coordinator.open(stage="1", status="in-progress")
    coordinator.act(coordinator.row_for(patient), "hold", reason="Patient away")
    svc.record_screen(backing, SCIATICA_PROGRAM, patient, POSITIVE, Actor(), str(uuid.uuid4()))
    coordinator.open(stage="1", status="on-hold")
    row = coordinator.row_for(patient)
    fhir_calls.clear()
    refused = coordinator.act(row, "resume")  # forged or stale: the page knew the plan is held
    assert "Not changed: The program is not running" in text(refused)
    assert len(fhir_calls) == 1 and "batch" in fhir_calls[0], fhir_calls  # only the page after
    assert backing.read("Task", row.task_id)["status"] == "on-hold"


def test_assign_to_someone_not_on_the_roster_reads_them_and_refuses_an_unknown(coordinator, backing):
    """The browser's choice is checked against the roster the page listed; anything else is
    read from the server (never named from the form)."""
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    refused = coordinator.act(row, "assign", owner="Practitioner/nobody-here")
    assert "Not changed: There is no such practitioner." in text(refused)
    assert backing.read("Task", row.task_id)["meta"]["versionId"] == row.version


def test_a_stale_patch_fails_the_transaction_whole_as_hapi_does(backing, fhir_profile):
    """What the one-request write relies on: a JSON Patch entry whose version test fails is
    refused with nothing written (HAPI: 400 HAPI-1272; sekmet-fhir: 422), and the strict proxy
    refuses `ifMatch` on a PATCH entry as HAPI 5-6 do (a match URL: 400 HAPI-0518)."""
    patient, _ = start_program(backing)
    task = backing.search_all("Task", {"patient": patient, "status": "ready"})[0]
    stale = str(int(task["meta"]["versionId"]) + 1)
    tx = Transaction()
    tx.patch("Task", task["id"], patch_document(task, {**task, "priority": "urgent"}, stale))
    with pytest.raises(FhirInvalid) as refused:
        commit(backing, tx)
    assert refused.value.status == (400 if fhir_profile == "strict" else 422)
    if fhir_profile == "strict":
        assert "HAPI-1272" in " ".join(refused.value.diagnostics())
        tx.entries[0]["request"]["ifMatch"] = f'W/"{task["meta"]["versionId"]}"'
        with pytest.raises(FhirInvalid) as matched:
            commit(backing, tx)
        assert "HAPI-0518" in " ".join(matched.value.diagnostics())
    assert backing.read("Task", task["id"])["meta"]["versionId"] == task["meta"]["versionId"]


def test_the_patch_changes_only_what_the_action_changed():
    """The document the one-request write sends: the version test first, then only the changed
    elements (a note appended, never the array replaced; a dropped element removed), then the
    generated narrative rebuilt behind its own test."""
    before = {
        "resourceType": "Task",
        "id": "t1",
        "meta": {"versionId": "4", "lastUpdated": "2026-11-26T10:00:00.000+00:00"},
        "status": "on-hold",
        "intent": "order",
        "statusReason": {"text": "Patient away"},
        "note": [{"text": "first"}],
        "description": "Stage 1",
    }
    after = {**before, "status": "in-progress", "note": [{"text": "first"}, {"text": "second"}]}
    del after["statusReason"]
    ops = patch_document(before, after, "4")
    assert ops[0] == {"op": "test", "path": "/meta/versionId", "value": "4"}
    assert {"op": "add", "path": "/note/-", "value": {"text": "second"}} in ops
    assert {"op": "add", "path": "/status", "value": "in-progress"} in ops
    assert {"op": "remove", "path": "/statusReason"} in ops
    assert not [op for op in ops if op["path"] in ("/description", "/intent", "/note", "/meta", "/id")]
    assert ops[-2:][0] == {"op": "test", "path": "/text/status", "value": "generated"}
    assert ops[-1]["path"] == "/text" and "under way" in ops[-1]["value"]["div"]
