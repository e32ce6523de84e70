"""Resume, stop and the medical review at one round trip to the FHIR server each, the page after
the POST included, in both server profiles; and a resume built on a page from before a new
positive screen or a new review is refused with nothing written (fails closed)."""

from __future__ import annotations

import copy
import html
import re
import uuid

import pytest

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.review import Outcome
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import StaleVersion
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.review import record_review
from tests.web.test_round_trips import ALL_ABSENT, form_of, post, started_program

REVIEW_LINK = re.compile(r'href="(/patient/review/([^"]+))"')
VERSION = re.compile(r'name="version" value="([^"]*)"')
NO_FLAGS = dict.fromkeys(RED_FLAG_KEYS, False)
REVIEWER = Actor(None, "Another clinician")


def words(response) -> str:
    return html.unescape(response.text)


def review_form(browser, path: str) -> dict[str, str]:
    """The review form's fields as the browser sends them (its version included)."""
    form = form_of(browser, path)
    return {**form, "version": VERSION.search(browser.get(path).text).group(1)}


def held(browser, stack, patient: str) -> tuple[str, str]:
    """A running program put on hold by a positive screen: the open review's form path and id."""
    started_program(browser, stack, patient)
    screen = {**form_of(browser, "/patient/screen"), **ALL_ABSENT, "leg-weakness": "present"}
    assert "Red flag present" in post(browser, stack, "/patient/screen", screen).text
    path, task_id = REVIEW_LINK.search(browser.get("/patient/program").text).groups()
    return path, task_id


def resumable(browser, stack, patient: str) -> str:
    """On hold, the review recorded as cleared and a new clear screen: the program page offers
    Resume. Returns the review's id."""
    path, task_id = held(browser, stack, patient)
    cleared = {**review_form(browser, path), "outcome": "cleared", "note": "Power 5/5."}
    assert "Review recorded" in words(post(browser, stack, path, cleared))
    post(browser, stack, "/patient/screen", {**form_of(browser, "/patient/screen"), **ALL_ABSENT})
    assert "Resume the program" in browser.get("/patient/program").text
    return task_id


def a_practitioner(fhir: FhirClient) -> Actor:
    """A clinician on the server (only a Practitioner may record a review)."""
    practitioner = fhir.search_all("Practitioner", {"_count": "1"})[0]
    return Actor(f"Practitioner/{practitioner['id']}", "Dr Lee")


def program_now(stack, patient: str):
    return read_patient_record(FhirClient(stack.backing_fhir_base), patient).state(SCIATICA_PROGRAM)


def another_positive_screen(stack, patient: str):
    """Another clinician records a positive screen (a running program goes on hold; a held
    one gets only the new screen and a new review Task, nothing the page's If-Match sees)."""
    fhir = FhirClient(stack.backing_fhir_base)
    answers = {**NO_FLAGS, "trauma": True}
    return svc.record_screen(fhir, SCIATICA_PROGRAM, patient, answers, REVIEWER, str(uuid.uuid4()))


def assert_still_held_as(stack, patient: str, before) -> None:
    """Still on hold, and nothing was written to the plan or the stage since `before`."""
    after = program_now(stack, patient)
    assert after.careplan_status == "on-hold"
    assert after.careplan_version == before.careplan_version
    assert after.current.version == before.current.version


# -- one round trip each ---------------------------------------------------------------------------
def test_resume_is_one_round_trip(browser, stack, fresh_patient, fhir_calls):
    resumable(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    fhir_calls.clear()
    resumed = post(browser, stack, "/patient/program/resume", form)
    assert "The program is running again." in words(resumed)
    assert "Complete stage 1 early" in resumed.text and "Stop: no exercises" not in words(resumed)
    assert len(fhir_calls) == 1, fhir_calls
    assert program_now(stack, fresh_patient).careplan_status == "active"


def test_stop_is_one_round_trip(browser, stack, fresh_patient, fhir_calls):
    started_program(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    fhir_calls.clear()
    stopped = post(browser, stack, "/patient/program/stop", {**form, "reason": "Patient moved away"})
    assert "The program was stopped." in words(stopped) and "Patient moved away" in words(stopped)
    assert len(fhir_calls) == 1, fhir_calls
    state = program_now(stack, fresh_patient)
    assert state.careplan_status == "revoked" and not any(s.is_open for s in state.stages)


def test_recording_a_review_is_one_round_trip_whatever_the_outcome(browser, stack, fresh_patient, fhir_calls):
    path, task_id = held(browser, stack, fresh_patient)
    form = review_form(browser, path)
    fhir_calls.clear()
    referred = post(browser, stack, path, {**form, "outcome": "referred-specialist", "note": "MRI booked."})
    assert "Review recorded: Referred" in words(referred)
    assert "Stop: no exercises" in words(referred)  # the program page after: still on hold
    assert len(fhir_calls) == 1, fhir_calls

    # "Stopped" ends the program too (plan, stages, exercises, Goals): still one request.
    form = review_form(browser, path)
    fhir_calls.clear()
    stopped = post(browser, stack, path, {**form, "outcome": "stopped", "note": "Disc extrusion."})
    assert "Review recorded: Exercise program stopped" in words(stopped)
    assert "The program was stopped." in words(stopped)
    assert len(fhir_calls) == 1, fhir_calls
    state = program_now(stack, fresh_patient)
    assert state.careplan_status == "revoked" and not any(r.is_open for r in state.reviews)


# -- a review sent twice is recorded once ---------------------------------------------------------
def test_a_review_form_sent_twice_records_one_outcome(browser, stack, fresh_patient):
    path, task_id = held(browser, stack, fresh_patient)
    form = {**review_form(browser, path), "outcome": "cleared", "note": "Power 5/5."}
    assert "Review recorded" in words(post(browser, stack, path, form))
    again = post(browser, stack, path, form)
    assert "may have been recorded already" in words(again)
    task = FhirClient(stack.backing_fhir_base).read("Task", task_id)
    assert len([o for o in task["output"] if "valueReference" in o]) == 1


def test_two_writes_built_on_the_same_form_record_one_outcome(stack, fresh_patient, browser):
    """A double submit whose two requests race: both are built on the same page's record; the
    second finds the outcome already created and fails on the review Task's If-Match."""
    path, task_id = held(browser, stack, fresh_patient)
    fhir = FhirClient(stack.backing_fhir_base)
    page = read_patient_record(fhir, fresh_patient)
    reviewer = a_practitioner(fhir)
    args = (fhir, SCIATICA_PROGRAM, fresh_patient, task_id, Outcome.CLEARED, "Power 5/5.", reviewer)
    first = record_review(*args, record=page)
    assert first.closed and first.write.after is not None
    with pytest.raises(StaleVersion):
        record_review(*args, record=page)
    task = fhir.read("Task", task_id)
    assert len([o for o in task["output"] if "valueReference" in o]) == 1


# -- a resume on a stale page fails closed ----------------------------------------------------------
def test_resume_is_refused_when_a_positive_screen_was_recorded_after_the_page(browser, stack, fresh_patient):
    resumable(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    before = program_now(stack, fresh_patient)
    another_positive_screen(stack, fresh_patient)
    refused = post(browser, stack, "/patient/program/resume", form)
    assert "Someone else changed the program since you opened the page" in words(refused)
    assert "The program is running again." not in words(refused)
    assert "Stop: no exercises" in words(refused)  # the page as it is now
    assert_still_held_as(stack, fresh_patient, before)


def test_resume_is_refused_when_a_review_opened_after_the_page(browser, stack, fresh_patient):
    task_id = resumable(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    before = program_now(stack, fresh_patient)
    # Another system opens a medical review (no new screen).
    fhir = FhirClient(stack.backing_fhir_base)
    review = copy.deepcopy(fhir.read("Task", task_id))
    for key in ("id", "meta", "text", "output", "statusReason", "owner", "executionPeriod"):
        review.pop(key, None)
    review.update(
        status="requested", identifier=[{"system": c.SUBMISSION_IDENTIFIER, "value": str(uuid.uuid4())}]
    )
    fhir.create(review)
    refused = post(browser, stack, "/patient/program/resume", form)
    assert "Someone else changed the program since you opened the page" in words(refused)
    assert_still_held_as(stack, fresh_patient, before)


def test_a_resume_that_finds_a_newer_unclear_screen_holds_the_program_again(browser, stack, fresh_patient):
    """A positive screen whose review another system closed: no guard can see it, the record
    read back with the write does; the program is on hold again and the resume refused."""
    resumable(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    fhir = FhirClient(stack.backing_fhir_base)
    screened = another_positive_screen(stack, fresh_patient)
    review = fhir.read(*screened.review_task.split("/"))
    fhir.update({**review, "status": "cancelled"})
    refused = post(browser, stack, "/patient/program/resume", form)
    assert "The program is running again." not in words(refused)
    assert "being resumed: it is on hold" in words(refused)
    assert program_now(stack, fresh_patient).careplan_status == "on-hold"


# -- a stop on a stale page: the conflict, and the reason kept ---------------------------------------
def test_a_stop_on_a_page_from_before_a_hold_is_refused_and_keeps_the_reason(browser, stack, fresh_patient):
    started_program(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    another_positive_screen(stack, fresh_patient)  # it holds the program
    refused = post(browser, stack, "/patient/program/stop", {**form, "reason": "Moving abroad & <gone>"})
    assert "Someone else changed the program since you opened the page" in words(refused)
    assert 'value="Moving abroad &amp; &lt;gone&gt;"' in refused.text  # typed, kept, escaped
    assert program_now(stack, fresh_patient).careplan_status == "on-hold"
    assert 'value="Moving abroad' not in browser.get("/patient/program").text  # shown once


def test_a_review_on_a_form_someone_else_changed_is_refused_and_keeps_the_note(browser, stack, fresh_patient):
    path, task_id = held(browser, stack, fresh_patient)
    form = review_form(browser, path)
    fhir = FhirClient(stack.backing_fhir_base)
    other = a_practitioner(fhir)
    record_review(  # another clinician records a referral on the same review meanwhile
        fhir, SCIATICA_PROGRAM, fresh_patient, task_id, Outcome.SPECIALIST, "MRI booked.", other
    )
    refused = post(
        browser, stack, path, {**form, "outcome": "cleared", "note": "Power 5/5 & reflexes <normal>."}
    )
    assert refused.status_code == 409
    assert "Someone changed this review since you opened it" in words(refused)
    assert "Power 5/5 &amp; reflexes &lt;normal&gt;.</textarea>" in refused.text  # the note, kept
    assert "Last recorded: Referred" in words(refused)  # the review as it is now
    task = fhir.read("Task", task_id)
    assert len([o for o in task["output"] if "valueReference" in o]) == 1  # only the referral
