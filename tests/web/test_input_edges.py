"""Issue 11: ids, submission ids, free text and return_to are checked at the web edge; an
unknown patient on the worklist is a plain 404; nothing is written for a refused input."""

from __future__ import annotations

import html

import pytest

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from tests.web.conftest import CSRF, PATIENT
from tests.web.test_worklist import Coordinator
from tests.web.test_worklist import start_program as start_running_program

ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}
PAIN = "http://loinc.org|72514-3"


def started(browser, patient: str) -> None:
    browser.launch_id(patient)
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    browser.post_form("/patient", "/patient/start", {})


def post_raw(browser, page: str, action: str, data: dict[str, str]):
    """Post a form with the page's CSRF token and patient, but our own submission id."""
    text = browser.get(page).text
    fields = {"csrf_token": CSRF.search(text).group(1), "patient": PATIENT.search(text).group(1)}
    return browser.http.post(f"{browser.stack.app_url}{action}", data={**fields, **data}, timeout=30)


def test_a_submission_id_smuggling_search_parameters_records_nothing_and_says_so(
    browser, stack, fresh_patient
):
    started(browser, fresh_patient)
    backing = FhirClient(stack.backing_fhir_base)
    first = browser.post_form("/patient/program", "/patient/score/pain", {"score": "7"})
    assert "Pain 7/10 recorded" in first.text
    existing = backing.search_all("Observation", {"patient": fresh_patient, "code": PAIN})
    assert len(existing) == 1
    response = post_raw(
        browser,
        "/patient/program",
        "/patient/score/pain",
        {"score": "1", "submission_id": f"x&_id={existing[0]['id']}"},
    )
    assert "Pain 1/10 recorded" not in response.text
    assert "already recorded" not in response.text
    assert "Nothing was saved" in html.unescape(response.text)
    assert len(backing.search_all("Observation", {"patient": fresh_patient, "code": PAIN})) == 1


def test_a_screen_with_a_bad_submission_id_is_refused(browser, stack, fresh_patient):
    browser.launch_id(fresh_patient)
    response = post_raw(browser, "/patient/screen", "/patient/screen", {**ALL_ABSENT, "submission_id": "a|b"})
    assert response.status_code == 400
    assert "Nothing was saved" in html.unescape(response.text)
    backing = FhirClient(stack.backing_fhir_base)
    assert backing.search_all("Observation", {"patient": fresh_patient}) == []


def test_a_stop_reason_over_the_limit_is_refused_and_the_program_keeps_running(browser, stack, fresh_patient):
    started(browser, fresh_patient)
    response = browser.post_form("/patient/program", "/patient/program/stop", {"reason": "x" * 100_000})
    page = html.unescape(response.text)
    assert "too long" in page and "The program was stopped." not in page
    backing = FhirClient(stack.backing_fhir_base)
    plans = backing.search_all("CarePlan", {"patient": fresh_patient})
    assert [p["status"] for p in plans] == ["active"]
    assert all("xxxxxxxxxx" not in str(t) for t in backing.search_all("Task", {"patient": fresh_patient}))


@pytest.fixture
def coordinator(stack) -> Coordinator:
    person = Coordinator(stack)
    assert person.launch().status_code == 200
    return person


@pytest.mark.parametrize("return_to", ["/worklist\r\nSet-Cookie: x=1", "/worklist?x=\n", "/worklist\x00"])
def test_crlf_in_return_to_goes_back_to_the_worklist_not_a_500(coordinator, stack, return_to):
    patient, _ = start_running_program(FhirClient(stack.backing_fhir_base))
    coordinator.open("/worklist", stage="1")
    row = coordinator.row_for(patient)
    response = coordinator.act(row, "claim", return_to=return_to)
    assert response.status_code == 200
    assert response.url.split("?")[0].endswith("/worklist")
    assert "x=1" not in str(coordinator.http.cookies)


@pytest.mark.parametrize("patient_id", ["no-such-patient-7", "Zz9"])
def test_an_unknown_patient_on_the_worklist_is_a_404_page(coordinator, patient_id):
    response = coordinator.open(f"/worklist/patient/{patient_id}")
    assert response.status_code == 404
    assert "not found" in response.text.lower()
    assert "Something went wrong" not in response.text


@pytest.mark.parametrize("path", ["/worklist/patient/a%0Ab", "/worklist/patient/" + "a" * 65])
def test_a_malformed_patient_id_on_the_worklist_is_a_404_page(coordinator, path):
    assert coordinator.open(path).status_code == 404
