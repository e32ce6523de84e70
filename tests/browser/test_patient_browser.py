"""The patient on a 390 px phone: portal sign-in, two sessions and a pain score, a self-check
with a cauda equina sign and its emergency advice; then the coordinator sees the stat review
first and the clinician sees adherence and the patient-reported pain. axe-core checks every
page on the way (patient, coordinator and clinician)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS, RED_FLAGS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from tests.support.axe import axe_violations

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=True) as running:
        yield running


@pytest.fixture(scope="module")
def patient(stack):
    """Alex (eligible) with a running program."""
    backing = FhirClient(stack.backing_fhir_base)
    seeded = next(p for p in stack.patients if p.key == "eligible-icd10")
    answers = {key: False for key in RED_FLAG_KEYS}
    svc.record_screen(backing, SCIATICA_PROGRAM, seeded.patient_id, answers, Actor(), str(uuid.uuid4()))
    svc.start_program(backing, SCIATICA_PROGRAM, seeded.patient_id, Actor())
    return seeded


def accessible(page, name: str, artifacts) -> None:
    page.screenshot(path=str(artifacts / f"patient-{name}.png"), full_page=True)
    assert axe_violations(page) == [], name


def test_patient_to_coordinator_to_clinician(chromium, stack, patient, artifacts):
    phone = chromium.new_context(viewport=PHONE, bypass_csp=True, has_touch=True, is_mobile=True)
    page = phone.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{stack.sandbox_url}/portal/")
    page.get_by_role("button", name=f"Sign in as {patient.name}").click()
    page.get_by_role("link", name="Open my exercises").click()
    page.wait_for_url(f"{stack.app_url}/me")
    expect(page.get_by_role("heading", name="Today's exercises")).to_be_visible()
    assert page.locator(".exercise svg").count() >= 3  # pictures
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    accessible(page, "today", artifacts)

    page.get_by_role("button", name="I did all of today's exercises").click()
    expect(page.get_by_text("Session saved. Well done.")).to_be_visible()
    page.locator('input[name="exercise"]').first.check()
    page.get_by_role("button", name="Save the ones I ticked").click()
    expect(page.get_by_text("Session saved. Well done.")).to_be_visible()
    page.get_by_role("button", name="Pain 6 out of 10").click()
    expect(page.get_by_text("Pain 6 out of 10 saved.")).to_be_visible()
    assert "2 of 14 sessions done" in page.locator(".week").inner_text()

    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(page.get_by_text("6 out of 10 (you)")).to_be_visible()
    accessible(page, "history", artifacts)
    page.goto(f"{stack.app_url}/me/oswestry")
    accessible(page, "oswestry", artifacts)

    page.get_by_role("navigation").get_by_role("link", name="Check symptoms").click()
    accessible(page, "check", artifacts)
    for flag in RED_FLAGS:
        answer = "Yes" if flag.key == "saddle-anaesthesia" else "No"
        page.locator(f'input[name="{flag.key}"][value="{answer.lower()}"]').check()
    page.get_by_role("button", name="Send my answers").click()
    advice = page.get_by_role("alert")
    assert "Go to an emergency department now" in advice.inner_text()
    accessible(page, "emergency-advice", artifacts)
    page.get_by_role("navigation").get_by_role("link", name="Today").click()
    expect(page.get_by_text("Your exercises are paused")).to_be_visible()
    accessible(page, "paused", artifacts)
    # ... and the program is on hold on the EHR record too, written by the app's own backend
    # client (SMART Backend Services), never by the patient's token
    plans = FhirClient(stack.backing_fhir_base).search_all("CarePlan", {"patient": patient.patient_id})
    assert [p["status"] for p in plans] == ["on-hold"]
    phone.close()

    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    coordinator = desk.new_page()
    coordinator.goto(f"{stack.sandbox_url}/ehr/")
    coordinator.get_by_role("link", name="Launch as coordinator").click()
    coordinator.wait_for_url(re.compile(r".*/worklist.*"))
    first = coordinator.locator("table.worklist tbody tr").first
    assert patient.name in first.inner_text() and "Emergency" in first.inner_text()
    assert "For: Saddle anaesthesia" in first.inner_text()
    coordinator.screenshot(path=str(artifacts / "patient-coordinator.png"), full_page=True)
    assert axe_violations(coordinator) == []
    coordinator.locator("table.worklist tbody tr").first.get_by_role("link").first.click()
    assert axe_violations(coordinator) == []  # the timeline
    desk.close()

    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    clinician = desk.new_page()
    clinician.goto(f"{stack.sandbox_url}/ehr/launch?patient={patient.patient_id}")
    clinician.wait_for_url(f"{stack.app_url}/patient")
    assert axe_violations(clinician) == []
    clinician.goto(f"{stack.app_url}/patient/program")
    assert (
        "The patient reported a red flag in their own app"
        in clinician.get_by_role("alert").first.inner_text()
    )
    rows = clinician.locator("table.adherence tbody tr")
    assert rows.last.locator("td.done").inner_text() == "2"
    assert clinician.locator("svg polygon.by-patient").count() == 1
    assert "reported by the patient" in clinician.locator(".chart-legend").inner_text()
    clinician.screenshot(path=str(artifacts / "patient-clinician.png"), full_page=True)
    assert axe_violations(clinician) == []
    desk.close()
