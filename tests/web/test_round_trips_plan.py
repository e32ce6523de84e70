"""One round trip to the FHIR server for the assessment, the plan update and filing the handout,
the page after the POST included, in both server profiles; and those one-request writes still
fail closed when the program changed since the page (a red-flag hold, a review opened, a stage
completed), keeping what the clinician entered."""

from __future__ import annotations

import html
import uuid
from dataclasses import replace
from html.parser import HTMLParser

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import StaleVersion
from fhir_rehab.services.handout import file_handout, was_filed
from fhir_rehab.services.record import read_patient_record
from tests.web.conftest import CSRF, SUBMISSION
from tests.web.test_round_trips import ALL_ABSENT, form_of, post

OTHER = Actor(None, "Another clinician")
ASSESSMENT = {"leg_pain": "6", "back_pain": "3", "left_slr_angle": "40", "preference": "extension"}


class FormFields(HTMLParser):
    """What a browser would send for the form with this id: inputs, checked boxes, and each
    select's selected (else first) option."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.select = form_id, False, None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select:
            if self.select not in self.fields or "selected" in a:
                self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def plan_form(text: str) -> dict[str, str]:
    parser = FormFields("plan")
    parser.feed(text)
    assert parser.fields.get("csrf_token"), text[-3000:]
    return parser.fields


def sheet_form(text: str, patient: str) -> dict[str, str]:
    return {
        "csrf_token": CSRF.search(text).group(1),
        "patient": patient,
        "submission_id": SUBMISSION.search(text).group(1),
    }


def assessed_and_started(browser, stack, patient: str) -> None:
    """Screened clear, assessed, started with the proposed plan (from the plan page)."""
    browser.launch_id(patient)
    post(browser, stack, "/patient/screen", {**form_of(browser, "/patient/screen"), **ALL_ABSENT})
    post(browser, stack, "/patient/assessment", {**form_of(browser, "/patient/assessment"), **ASSESSMENT})
    started = post(
        browser, stack, "/patient/plan", {**plan_form(browser.get("/patient/plan").text), "action": "start"}
    )
    assert "Program started" in started.text


def positive_screen(stack, patient: str, *, hold_program: bool = True) -> None:
    """Another clinician (or, without the hold, the patient's self-check) records a red flag."""
    svc.record_screen(
        FhirClient(stack.backing_fhir_base),
        SCIATICA_PROGRAM,
        patient,
        {**dict.fromkeys(RED_FLAG_KEYS, False), "bladder-bowel": True},
        OTHER,
        str(uuid.uuid4()),
        hold_program=hold_program,
    )


def complete_stage_1(stack, patient: str) -> None:
    other = FhirClient(stack.backing_fhir_base)
    state = read_patient_record(other, patient).state(SCIATICA_PROGRAM)
    svc.complete_stage(
        other, SCIATICA_PROGRAM, patient, state.stages[0].task_id, OTHER, early_reason="Settled"
    )


def state_of(stack, patient: str):
    return read_patient_record(FhirClient(stack.backing_fhir_base), patient).state(SCIATICA_PROGRAM)


def documents(stack, patient: str) -> list[dict]:
    return FhirClient(stack.backing_fhir_base).search_all(
        "DocumentReference", {"subject": f"Patient/{patient}"}
    )


def test_assessment_plan_save_and_filing_are_one_round_trip_each(browser, stack, fresh_patient, fhir_calls):
    fhir_calls.clear()
    browser.launch_id(fresh_patient)  # the launch's first page: its one read finds the clinic too
    record_reads = [call for call in fhir_calls if "GET Patient/" in call]
    assert len(record_reads) == 1 and "GET Encounter" in record_reads[0], fhir_calls
    post(browser, stack, "/patient/screen", {**form_of(browser, "/patient/screen"), **ALL_ABSENT})

    form = form_of(browser, "/patient/assessment")
    fhir_calls.clear()
    assessed = post(browser, stack, "/patient/assessment", {**form, **ASSESSMENT})
    assert assessed.url.endswith("/patient/plan") and "Assessment recorded." in assessed.text
    assert "leg pain eased by bending backwards" in assessed.text  # the page after shows it
    assert len(fhir_calls) == 1, fhir_calls

    again = post(browser, stack, "/patient/assessment", {**form, **ASSESSMENT})
    assert "This assessment was already recorded." in again.text

    fhir_calls.clear()
    started = post(browser, stack, "/patient/plan", {**plan_form(assessed.text), "action": "start"})
    assert "Program started" in started.text
    assert len(fhir_calls) == 1, fhir_calls

    form = plan_form(browser.get("/patient/plan").text)
    fhir_calls.clear()
    saved = post(
        browser,
        stack,
        "/patient/plan",
        {**form, "action": "save", "s1-0-reps": "9", "s3-0-note": "Go gently."},
    )
    assert saved.url.endswith("/patient/program") and "The plan was saved." in saved.text
    assert "9 repetitions" in saved.text  # the program page after, from the save's own reads
    assert len(fhir_calls) == 1, fhir_calls
    assert "Go gently." in state_of(stack, fresh_patient).stages[2].prescriptions[0].note

    form = form_of(browser, "/patient/assessment")
    fhir_calls.clear()
    reassessed = post(browser, stack, "/patient/assessment", {**form, "leg_pain": "4", "back_pain": "2"})
    assert reassessed.url.endswith("/patient/program") and "Assessment recorded." in reassessed.text
    assert len(fhir_calls) == 1, fhir_calls

    # The launch's clinic (its encounter's serviceProvider) came with the launch's first read.
    fhir_calls.clear()
    sheet = browser.get("/patient/program/sheet").text
    assert "Riverside Physiotherapy (sandbox) · 020 7946 0123" in sheet and "9 repetitions" in sheet
    assert len(fhir_calls) == 1 and "Encounter" not in fhir_calls[0], fhir_calls
    fhir_calls.clear()
    pdf = browser.get("/patient/program/handout.pdf")
    assert pdf.content.startswith(b"%PDF-")
    assert len(fhir_calls) == 1, fhir_calls

    shown = read_patient_record(FhirClient(stack.backing_fhir_base), fresh_patient)
    form = sheet_form(sheet, fresh_patient)
    fhir_calls.clear()
    filed = post(browser, stack, "/patient/program/handout/file", form)
    assert filed.url.endswith("/patient/program")
    assert "The handout was filed in the patient&#39;s documents." in filed.text
    assert len(fhir_calls) == 1, fhir_calls
    fhir_calls.clear()
    twice = post(browser, stack, "/patient/program/handout/file", form)
    assert "This handout was already filed" in twice.text
    assert len(fhir_calls) == 1, fhir_calls
    assert len(documents(stack, fresh_patient)) == 1

    # The same form sent twice at once: the second, built on the same page, fails on the plan's
    # If-Match; the record read afresh then shows it filed (which the page after says).
    key = f"handout-{form['submission_id']}"
    try:
        file_handout(
            FhirClient(stack.backing_fhir_base),
            b"%PDF-1.4 racing",
            patient_id=fresh_patient,
            care_plan_id=shown.state(SCIATICA_PROGRAM).careplan_id,
            stage_title="Stage 1",
            actor=OTHER,
            key=key,
            shown=(SCIATICA_PROGRAM, shown),
        )
    except StaleVersion:
        pass
    else:
        raise AssertionError("a filing on a page older than the plan's version must fail")
    fresh = read_patient_record(FhirClient(stack.backing_fhir_base), fresh_patient)
    assert was_filed(fresh, fresh.state(SCIATICA_PROGRAM).careplan_id, key)
    assert len(documents(stack, fresh_patient)) == 1


def test_a_plan_save_on_a_page_older_than_a_red_flag_hold_saves_nothing_and_keeps_the_entries(
    browser, stack, fresh_patient, fhir_calls
):
    assessed_and_started(browser, stack, fresh_patient)
    form = plan_form(browser.get("/patient/plan").text)
    before = state_of(stack, fresh_patient).stages[2]
    positive_screen(stack, fresh_patient)  # the program goes on hold: stage 3 itself is untouched
    fhir_calls.clear()
    refused = post(
        browser, stack, "/patient/plan", {**form, "action": "save", "s3-0-note": "Only on good days."}
    )
    text = html.unescape(refused.text)
    assert refused.status_code == 409
    assert "Someone else changed this plan since you opened the page" in text
    assert "The program is now paused for a medical review." in text
    assert 'value="Only on good days."' in text  # the entry is kept in the form
    assert len(fhir_calls) == 2, fhir_calls  # the refused write, then the plan as it is now
    after = state_of(stack, fresh_patient)
    assert after.careplan_status == "on-hold"
    assert after.stages[2].version == before.version
    assert [p.version for p in after.stages[2].prescriptions] == [p.version for p in before.prescriptions]


def test_a_plan_save_on_a_page_older_than_a_completed_stage_keeps_the_open_stages_entries(
    browser, stack, fresh_patient
):
    assessed_and_started(browser, stack, fresh_patient)
    form = plan_form(browser.get("/patient/plan").text)
    complete_stage_1(stack, fresh_patient)
    entries = {"action": "save", "s1-0-reps": "7", "s2-0-note": "After the walk."}
    refused = post(browser, stack, "/patient/plan", {**form, **entries})
    text = html.unescape(refused.text)
    assert refused.status_code == 409 and "nothing was saved" in text
    assert "Stage 1 was finished since you opened the page: your changes to it were not saved." in text
    assert 'value="After the walk."' in text
    assert "After the walk." not in str(state_of(stack, fresh_patient).stages[1].prescriptions)

    # The kept entries sit on the versions now current: sent again, they are saved.
    saved = post(browser, stack, "/patient/plan", {**plan_form(refused.text), "action": "save"})
    assert "The plan was saved." in saved.text
    assert state_of(stack, fresh_patient).stages[1].prescriptions[0].note == "After the walk."


def test_filing_a_sheet_shown_before_a_red_flag_hold_files_nothing(browser, stack, fresh_patient):
    assessed_and_started(browser, stack, fresh_patient)
    form = sheet_form(browser.get("/patient/program/sheet").text, fresh_patient)
    positive_screen(stack, fresh_patient)
    refused = post(browser, stack, "/patient/program/handout/file", form)
    assert (
        refused.status_code == 409 and "No home exercise sheet while the program is on hold" in refused.text
    )
    assert documents(stack, fresh_patient) == []


def test_filing_a_sheet_shown_before_a_self_check_review_files_nothing(browser, stack, fresh_patient):
    assessed_and_started(browser, stack, fresh_patient)
    form = sheet_form(browser.get("/patient/program/sheet").text, fresh_patient)
    positive_screen(stack, fresh_patient, hold_program=False)  # the plan itself is untouched
    refused = post(browser, stack, "/patient/program/handout/file", form)
    assert refused.status_code == 409 and "filed" not in refused.text
    assert documents(stack, fresh_patient) == []


def test_filing_a_sheet_shown_before_the_stage_completed_files_nothing(browser, stack, fresh_patient):
    assessed_and_started(browser, stack, fresh_patient)
    form = sheet_form(browser.get("/patient/program/sheet").text, fresh_patient)
    complete_stage_1(stack, fresh_patient)
    refused = post(browser, stack, "/patient/program/handout/file", form)
    text = html.unescape(refused.text)
    assert refused.url.endswith("/patient/program/sheet")
    assert "The program changed since the sheet was shown" in text and "nothing was filed" in text
    assert "Stage 2" in text  # the sheet as it is now
    assert documents(stack, fresh_patient) == []


def test_a_launch_without_the_encounter_scope_reads_its_record_without_the_clinic(
    browser, stack, fresh_patient, fhir_calls
):
    original = stack.runtime.store.get_client(stack.client_id).registration
    stack.register_client(replace(original, withheld_scopes=("patient/Encounter.rs",)))
    try:
        fhir_calls.clear()
        launched = browser.launch_id(fresh_patient)
        assert launched.status_code == 200 and launched.url.endswith("/patient"), launched.text[-2000:]
        assert not any("GET Encounter" in call for call in fhir_calls), fhir_calls
        assessed_and_started(browser, stack, fresh_patient)
        sheet = browser.get("/patient/program/sheet")
        assert sheet.status_code == 200 and "Your home exercises" in sheet.text
        assert "Riverside Physiotherapy" not in sheet.text  # not readable: the line is left out
    finally:
        stack.register_client(original)
