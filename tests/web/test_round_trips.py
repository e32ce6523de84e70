"""One round trip to the FHIR server per clinician action, the page after the POST included,
in both server profiles; and the one-request writes still fail closed when the record changed
since the page (a hold, an open review)."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

import requests

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.writes import utcnow
from tests.web.conftest import CSRF, PATIENT, SUBMISSION

ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}


def form_of(browser, page: str) -> dict[str, str]:
    text = browser.get(page).text
    assert CSRF.search(text) and PATIENT.search(text), text[-6000:]
    fields = {"csrf_token": CSRF.search(text).group(1), "patient": PATIENT.search(text).group(1)}
    found = SUBMISSION.search(text)
    if found:
        fields["submission_id"] = found.group(1)
    return fields


def post(browser, stack, action: str, data: dict[str, str]) -> requests.Response:
    """POST and follow the redirect: the action and the page after it."""
    return browser.http.post(f"{stack.app_url}{action}", data=data, timeout=30)


def stage_fields(text: str) -> dict[str, str]:
    return {
        "task_id": text.split('name="task_id" value="')[1].split('"')[0],
        "version": text.split('name="version" value="')[1].split('"')[0],
    }


def test_every_clinician_action_is_one_round_trip(browser, stack, fresh_patient, fhir_calls):
    browser.launch_id(fresh_patient)

    form = form_of(browser, "/patient/screen")
    fhir_calls.clear()
    screened = post(browser, stack, "/patient/screen", {**form, **ALL_ABSENT})
    assert "no red flags present" in screened.text and screened.url.endswith("/patient")
    assert len(fhir_calls) == 1, fhir_calls

    form = form_of(browser, "/patient")
    fhir_calls.clear()
    started = post(browser, stack, "/patient/start", form)
    assert "Program started" in started.text and started.url.endswith("/patient/program")
    assert len(fhir_calls) == 1, fhir_calls

    form = form_of(browser, "/patient/program")
    fhir_calls.clear()
    pained = post(browser, stack, "/patient/score/pain", {**form, "score": "3"})
    assert "Pain 3/10 recorded" in pained.text and "3/10" in pained.text
    assert len(fhir_calls) == 1, fhir_calls

    program = browser.get("/patient/program").text
    form = form_of(browser, "/patient/program")
    fhir_calls.clear()
    done = post(
        browser,
        stack,
        "/patient/stage/complete",
        {**form, **stage_fields(program), "early": "yes", "early_reason": "Settled"},
    )
    assert "Stage completed. The next stage is ready." in html.unescape(done.text)
    assert "Stage 2: Restoring mobility" in done.text
    assert len(fhir_calls) == 1, fhir_calls

    fhir_calls.clear()
    again = browser.get("/patient/program")  # a reload reads the record: one request
    assert "Stage 2: Restoring mobility" in again.text
    assert len(fhir_calls) == 1, fhir_calls


def started_program(browser, stack, patient: str) -> str:
    browser.launch_id(patient)
    post(browser, stack, "/patient/screen", {**form_of(browser, "/patient/screen"), **ALL_ABSENT})
    post(browser, stack, "/patient/start", form_of(browser, "/patient"))
    return browser.get("/patient/program").text


def test_complete_stage_is_refused_when_a_red_flag_held_the_program_after_the_page(
    browser, stack, fresh_patient, fhir_calls
):
    program = started_program(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    # Another clinician records a positive screen now: the program goes on hold.
    other = FhirClient(stack.backing_fhir_base)
    svc.record_screen(
        other,
        SCIATICA_PROGRAM,
        fresh_patient,
        {**dict.fromkeys(RED_FLAG_KEYS, False), "bladder-bowel": True},
        Actor(None, "Another clinician"),
        str(uuid.uuid4()),
    )
    fhir_calls.clear()
    refused = post(
        browser,
        stack,
        "/patient/stage/complete",
        {**form, **stage_fields(program), "early": "yes", "early_reason": "Settled"},
    )
    assert "Someone else changed this stage" in html.unescape(refused.text)
    assert len(fhir_calls) == 2, fhir_calls  # the refused write, then the page reads afresh
    state = read_patient_record(other, fresh_patient).state(SCIATICA_PROGRAM)
    assert state.current is not None and state.current.stage.number == 1
    assert state.careplan_status == "on-hold"


def test_complete_stage_is_refused_when_a_review_opened_without_changing_the_plan(
    browser, stack, fresh_patient
):
    program = started_program(browser, stack, fresh_patient)
    form = form_of(browser, "/patient/program")
    # The patient's own self-check: a review Task, the plan itself untouched (hold_program=False).
    other = FhirClient(stack.backing_fhir_base)
    svc.record_screen(
        other,
        SCIATICA_PROGRAM,
        fresh_patient,
        {**dict.fromkeys(RED_FLAG_KEYS, False), "saddle-anaesthesia": True},
        Actor(None, "The patient"),
        str(uuid.uuid4()),
        hold_program=False,
    )
    before = read_patient_record(other, fresh_patient).state(SCIATICA_PROGRAM)
    refused = post(
        browser,
        stack,
        "/patient/stage/complete",
        {**form, **stage_fields(program), "early": "yes", "early_reason": "Settled"},
    )
    assert "Stage completed" not in refused.text
    after = read_patient_record(other, fresh_patient).state(SCIATICA_PROGRAM)
    assert after.current is not None and after.current.stage.number == 1
    assert after.current.version == before.current.version  # nothing was written to the stage


def test_start_on_a_page_older_than_a_positive_screen_ends_on_hold(browser, stack, fresh_patient):
    browser.launch_id(fresh_patient)
    post(browser, stack, "/patient/screen", {**form_of(browser, "/patient/screen"), **ALL_ABSENT})
    form = form_of(browser, "/patient")  # the page shows a clear screen
    other = FhirClient(stack.backing_fhir_base)
    svc.record_screen(
        other,
        SCIATICA_PROGRAM,
        fresh_patient,
        {**dict.fromkeys(RED_FLAG_KEYS, False), "trauma": True},
        Actor(None, "Another clinician"),
        str(uuid.uuid4()),
        now=utcnow() + timedelta(seconds=1),
    )
    refused = post(browser, stack, "/patient/start", form)
    assert "Program started" not in refused.text
    state = read_patient_record(other, fresh_patient).state(SCIATICA_PROGRAM)
    assert state.careplan_status in (None, "on-hold")  # never a running program
