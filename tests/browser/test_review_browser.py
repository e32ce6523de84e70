"""A clinician in Chromium: an emergency result page, the stop banner instead of exercises, and
the medical review recorded through its form (referred, then cleared), then Resume."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM

pytestmark = pytest.mark.browser
EXERCISE = SCIATICA_PROGRAM.stage(1).exercises[0].name


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=False) as running:
        yield running


def screen(page, present=()):
    page.get_by_role("link", name="Red-flag screen").first.click()
    for key in RED_FLAG_KEYS:
        page.locator(f"#q-{key} input[value={'present' if key in present else 'absent'}]").check()
    page.get_by_role("button", name="Record screen").click()


def record_review(page, outcome_label, note):
    page.get_by_role("link", name="Record the medical review").first.click()
    expect(
        page.get_by_role("heading", name="Medical review: Loss of rectal-fullness sensation")
    ).to_be_visible()
    page.get_by_label(outcome_label).check()
    page.get_by_label("Note: what you found and what you advised").fill(note)
    page.get_by_role("button", name="Record the review").click()


def test_emergency_banner_and_review_form(page, stack, artifacts):
    page.goto(stack.ehr_url)
    page.get_by_role("button", name="Launch for Alex Morgan").click()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/patient")
    screen(page)
    page.get_by_role("button", name="Start the program").click()
    page.wait_for_url("**/patient/program")
    expect(page.get_by_role("cell", name=EXERCISE, exact=True)).to_be_visible()

    screen(page, present=("rectal-fullness",))
    panel = page.locator("section.escalation")
    expect(
        panel.get_by_role("heading", name="Emergency: send the patient to the emergency department now")
    ).to_be_visible()
    background = panel.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(164, 22, 26)"  # solid red: unlike any other level
    assert "Task/" not in page.content()
    page.screenshot(path=artifacts / "review-01-emergency.png", full_page=True)

    page.get_by_role("link", name="Program").first.click()
    banner = page.get_by_role("alert").filter(has_text="Stop: no exercises")
    expect(banner).to_be_visible()
    assert "Go to the emergency department now" in banner.inner_text()
    assert page.get_by_role("cell", name=EXERCISE, exact=True).count() == 0
    assert page.get_by_role("button", name="Resume the program").count() == 0
    page.screenshot(path=artifacts / "review-02-stop-banner.png", full_page=True)

    record_review(page, "Referred to emergency care", "Sent to the emergency department for MRI.")
    expect(page.get_by_text("Review recorded: Referred to emergency care.")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Stop: no exercises")).to_be_visible()
    assert page.get_by_role("button", name="Resume the program").count() == 0
    page.screenshot(path=artifacts / "review-03-referred.png", full_page=True)

    record_review(page, "Cleared to continue the exercise program", "MRI normal.")
    expect(page.get_by_text("Review recorded: Cleared to continue")).to_be_visible()
    screen(page)
    page.get_by_role("link", name="Program").first.click()
    page.get_by_role("button", name="Resume the program").click()
    expect(page.get_by_text("The program is running again.")).to_be_visible()
    expect(page.get_by_role("cell", name=EXERCISE, exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "review-04-resumed.png", full_page=True)
