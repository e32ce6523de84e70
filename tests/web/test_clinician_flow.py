"""The clinician's whole job over real HTTP: EHR launch, eligibility, screen, start, follow."""

import html
import re
from datetime import timedelta

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.dates import day
from tests.web.conftest import CSRF, PATIENT, SUBMISSION

EXERCISE = SCIATICA_PROGRAM.stage(1).exercises[0].name  # shown only while not on hold
ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}


def test_launch_screen_start_pain_complete_and_print(browser, stack):
    page = browser.launch("eligible-icd10")
    assert page.status_code == 200 and page.url.endswith("/patient")
    assert "Eligible." in page.text and "M54.41" in page.text
    assert "Alex" in page.text  # patient banner (the sandbox asks for one)

    incomplete = browser.post_form("/patient/screen", "/patient/screen", {"trauma": "absent"})
    assert incomplete.status_code == 400
    assert "Every question needs an answer" in incomplete.text
    # The GOV.UK error summary: focused on load, each unanswered question a link to its first answer.
    assert 'class="error-summary" role="alert" tabindex="-1" autofocus' in incomplete.text
    assert '<a href="#a-bladder-bowel">Answer question 1: ' in incomplete.text
    assert 'href="#a-trauma"' not in incomplete.text and 'id="a-trauma"' in incomplete.text
    assert incomplete.text.count('class="field-error"') == len(ALL_ABSENT) - 1
    assert 'value="absent" required checked' in incomplete.text  # the given answer is kept

    screened = browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    assert screened.status_code == 200
    assert "no red flags present" in screened.text

    overview = browser.get("/patient").text
    token = CSRF.search(overview).group(1)
    form = {"csrf_token": token, "patient": PATIENT.search(overview).group(1)}
    started = browser.http.post(f"{stack.app_url}/patient/start", data=form)
    assert started.url.endswith("/patient/program")
    assert "Program started" in started.text
    assert "Stage 1: Assessment and pain control" in started.text
    assert "Nerve glide lying down" in started.text and "twice a day" in started.text

    again = browser.http.post(f"{stack.app_url}/patient/start", data=form)
    assert "already running" in again.text  # a double click starts nothing twice

    pained = browser.post_form("/patient/program", "/patient/score/pain", {"score": "6"})
    assert "Pain 6/10 recorded" in pained.text
    assert "<svg" in pained.text and "6/10" in pained.text

    bad = browser.post_form("/patient/program", "/patient/score/pain", {"score": "eleven"})
    assert "Pain must be a whole number from 0 to 10" in bad.text

    odi = browser.post_form("/patient/program", "/patient/score/oswestry", {"score": "42"})
    assert "Oswestry Disability Index 42% recorded." in odi.text
    assert "baseline 42%" in odi.text
    too_high = browser.post_form("/patient/program", "/patient/score/oswestry", {"score": "101"})
    assert "from 0 to 100" in too_high.text

    program = browser.get("/patient/program").text
    task_id = program.split('name="task_id" value="')[1].split('"')[0]
    version = program.split('name="version" value="')[1].split('"')[0]
    assert "The measured criteria are not met: complete the stage early?" in program
    unconfirmed = browser.post_form(
        "/patient/program", "/patient/stage/complete", {"task_id": task_id, "version": version}
    )
    assert "To complete the stage early, confirm it and give a reason" in html.unescape(unconfirmed.text)
    done = browser.post_form(
        "/patient/program",
        "/patient/stage/complete",
        {"task_id": task_id, "version": version, "early": "yes", "early_reason": "Pain settled fast"},
    )
    assert "Stage completed. The next stage is ready." in html.unescape(done.text)
    assert "Completed early: Pain settled fast" in html.unescape(done.text)
    assert "Stage 2: Restoring mobility" in done.text
    # Stage 1 ended early: stage 2 is planned from today, for its 3 weeks, and the later ones follow.
    today = utcnow()
    assert f"planned until {day(today + timedelta(weeks=3))}" in done.text
    assert f"the next is planned until {day(today + timedelta(weeks=3))}." in html.unescape(done.text)
    assert f"planned from {day(today + timedelta(weeks=3))}" in done.text  # stage 3

    stale = browser.post_form(
        "/patient/program", "/patient/stage/complete", {"task_id": task_id, "version": version}
    )
    assert "not the current stage" in stale.text

    sheet = browser.get("/patient/program/sheet")
    assert sheet.status_code == 200
    assert "Your home exercises" in sheet.text and "Prone press-ups" in sheet.text
    assert "numbness around your back passage" in sheet.text  # every red flag, in plain words


def test_positive_screen_shows_advice_and_refuses_start(browser):
    browser.launch("eligible-snomed")
    answers = {**ALL_ABSENT, "saddle-anaesthesia": "present"}
    result = browser.post_form("/patient/screen", "/patient/screen", answers)
    assert "Emergency: send the patient to the emergency department now" in result.text
    assert "level-emergency" in result.text and "Saddle anaesthesia" in result.text
    assert "Task/" not in result.text and "saddle-anaesthesia</" not in result.text
    refused = browser.post_form("/patient", "/patient/start", {})
    assert "emergency medical review for Saddle anaesthesia" in html.unescape(refused.text)


def test_same_day_result_looks_different_from_an_emergency(browser):
    browser.launch("eligible-snomed")
    answers = {**ALL_ABSENT, "trauma": "present"}
    result = browser.post_form("/patient/screen", "/patient/screen", answers)
    assert "level-same-day" in result.text and "level-emergency" not in result.text
    assert "same-day medical review" in result.text and "within 4 hours" in result.text
    assert "Pain after trauma or a fall" in result.text


def test_not_eligible_patient_sees_why_and_start_is_refused(browser):
    page = browser.launch("not-eligible")
    assert "Not eligible." in page.text and "not one of the sciatica codes the program accepts" in page.text
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    refused = browser.post_form("/patient", "/patient/start", {})
    assert "Not eligible" in refused.text
    assert refused.url.endswith("/patient")


def test_double_submitted_screen_is_recorded_once(browser, stack):
    browser.launch("refuted")
    form = browser.get("/patient/screen").text

    data = {
        "csrf_token": CSRF.search(form).group(1),
        "patient": PATIENT.search(form).group(1),
        "submission_id": SUBMISSION.search(form).group(1),
        **ALL_ABSENT,
    }
    first = browser.http.post(f"{stack.app_url}/patient/screen", data=data, timeout=30)
    second = browser.http.post(f"{stack.app_url}/patient/screen", data=data, timeout=30)
    assert "no red flags present" in first.text
    assert "already recorded" in second.text


def test_forms_need_the_csrf_token(browser, stack):
    browser.launch("eligible-icd10")
    response = browser.http.post(f"{stack.app_url}/patient/start", data={}, timeout=30)
    assert response.status_code == 400
    assert "form expired" in response.text


def test_pages_need_a_launch(stack):
    import requests

    response = requests.get(f"{stack.app_url}/patient", timeout=30)
    assert response.status_code == 401
    assert "launch" in response.text.lower()


def test_no_token_in_cookies_headers_or_pages(browser, stack):
    seen = [browser.launch("eligible-icd10")]
    seen += [
        browser.get(path)
        for path in ("/patient", "/patient/program", "/patient/screen", "/patient/program/sheet")
    ]
    seen += [r for response in seen for r in response.history]  # every redirect on the way
    tokens = stack.runtime.store.issued_secrets()
    assert tokens, "the launch must have issued tokens"
    cookies = [c.value for c in browser.http.cookies]
    for token in tokens:
        assert not any(token in value for value in cookies)
        for response in seen:
            assert token not in response.text
            assert token not in str(response.headers)


REVIEW_LINK = re.compile(r'href="(/patient/review/[^"]+)"')


def test_hold_stop_banner_review_form_then_resume(browser, stack, fresh_patient):
    browser.launch_id(fresh_patient)
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    browser.post_form("/patient", "/patient/start", {})
    positive = browser.post_form(
        "/patient/screen", "/patient/screen", {**ALL_ABSENT, "leg-weakness": "present"}
    )
    assert "Red flag present" in positive.text
    program = html.unescape(browser.get("/patient/program").text)
    assert "Stop: no exercises while a red flag is being reviewed" in program
    assert "Stop your exercises and see a doctor today" in program  # the patient's advice
    assert "Complete stage" not in program and EXERCISE not in program
    assert "Resume the program" not in program

    sheet = browser.get("/patient/program/sheet")
    assert sheet.status_code == 409
    assert "Stop: no exercises" in sheet.text and html.escape(EXERCISE) not in sheet.text

    refused = browser.post_form("/patient/program", "/patient/program/resume", {})
    assert "same-day medical review for New or progressive leg weakness" in html.unescape(refused.text)

    # A clear screen alone never lifts the hold: the review is still open.
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    still = browser.post_form("/patient/program", "/patient/program/resume", {})
    assert "cannot resume while the same-day medical review" in html.unescape(still.text)

    review_path = REVIEW_LINK.search(still.text).group(1)
    missing = browser.post_form(review_path, review_path, {"outcome": "cleared", "note": " "})
    assert missing.status_code == 400 and "Write a note" in missing.text
    cleared = browser.post_form(
        review_path, review_path, {"outcome": "cleared", "note": "Power 5/5, reflexes normal."}
    )
    assert "Review recorded: Cleared to continue the exercise program." in html.unescape(cleared.text)
    assert "Resume the program" in cleared.text
    resumed = browser.post_form("/patient/program", "/patient/program/resume", {})
    assert "The program is running again." in resumed.text
    assert "Complete stage 1 early" in resumed.text and html.escape(EXERCISE) in resumed.text
    assert browser.get("/patient/program/sheet").status_code == 200


def test_stop_program_with_a_reason(browser, stack, fresh_patient):
    browser.launch_id(fresh_patient)
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    browser.post_form("/patient", "/patient/start", {})
    stopped = browser.post_form("/patient/program", "/patient/program/stop", {"reason": "Patient moved away"})
    assert "The program was stopped." in stopped.text
    assert "cancelled" in stopped.text and "Patient moved away" in stopped.text
    overview = browser.get("/patient").text
    assert "Start the program" in overview  # a new episode may start


def test_a_form_from_another_patients_tab_writes_nothing(browser, stack, fresh_patient):
    browser.launch("eligible-icd10")
    old_page = browser.get("/patient/program").text  # tab 1: Alex's program page
    token = CSRF.search(old_page).group(1)
    alex = old_page.split('name="patient" value="')[1].split('"')[0]
    browser.launch_id(fresh_patient)  # tab 2: another patient launched in the same browser
    response = browser.http.post(
        f"{stack.app_url}/patient/score/pain", data={"csrf_token": token, "patient": alex, "score": "9"}
    )
    assert "Nothing was saved" in response.text
    # The message names the patient the form was for, in words (name and birth date, no id).
    assert "This form was for Alex Morgan, born " in response.text
    assert "To enter it for Alex Morgan, open their chart" in response.text
    assert alex not in response.text and "Patient/" not in response.text
    backing = FhirClient(stack.backing_fhir_base)
    pain = backing.search_all("Observation", {"patient": fresh_patient, "code": "http://loinc.org|72514-3"})
    assert pain == []


def test_an_excluding_condition_says_why_and_what_to_do_instead(browser, stack, fresh_patient):
    backing = FhirClient(stack.backing_fhir_base)
    backing.create(
        {
            "resourceType": "Condition",
            "subject": {"reference": f"Patient/{fresh_patient}"},
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
                ]
            },
            "code": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10-cm",
                        "code": "M80.08XA",
                        "display": "Age-related osteoporosis with current pathological vertebral fracture",
                    }
                ]
            },
        }
    )
    page = html.unescape(browser.launch_id(fresh_patient).text)
    assert "Not eligible." in page and "A vertebral fracture is recorded" in page
    assert "refer to the fracture or spinal team" in page
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    refused = browser.post_form("/patient", "/patient/start", {})
    assert "Not eligible" in refused.text and "Program started" not in refused.text
