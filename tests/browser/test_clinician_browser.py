"""A clinician in Chromium: launch from the sandbox EHR, consent, screen, start, pain, stage 1."""

import pytest
from playwright.sync_api import expect

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.program.redflags import RED_FLAG_KEYS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=False) as running:
        yield running


def test_clinician_journey(page, stack, artifacts):
    page.goto(stack.ehr_url)
    page.screenshot(path=artifacts / "01-ehr.png", full_page=True)
    page.get_by_role("button", name="Launch for Alex Morgan").click()

    page.get_by_role("button", name="Approve").click()  # the sandbox's consent page
    page.wait_for_url("**/patient")
    expect(page.get_by_text("Eligible.")).to_be_visible()
    page.screenshot(path=artifacts / "02-overview.png", full_page=True)

    page.get_by_role("link", name="Screen red flags").click()
    for key in RED_FLAG_KEYS:
        page.locator(f"#q-{key} input[value=absent]").check()
    page.screenshot(path=artifacts / "03-screen.png", full_page=True)
    page.get_by_role("button", name="Record screen").click()
    expect(page.get_by_text("no red flags present")).to_be_visible()

    page.get_by_role("button", name="Start the program").click()
    page.wait_for_url("**/patient/program")
    expect(page.get_by_role("heading", name="Stage 1: Assessment and pain control")).to_be_visible()

    page.get_by_label("Pain now").fill("5")
    page.get_by_role("button", name="Record pain").click()
    expect(page.get_by_text("Pain 5/10 recorded.")).to_be_visible()
    assert page.locator("svg.chart circle").count() == 1
    page.screenshot(path=artifacts / "04-program.png", full_page=True)

    page.get_by_label("I am completing this stage early").check()
    page.get_by_label("Reason (recorded on the stage)").fill("Pain settled faster than expected")
    page.get_by_role("button", name="Complete stage 1 early").click()
    expect(page.get_by_text("The next stage is ready")).to_be_visible()
    expect(page.get_by_role("heading", name="Stage 2: Restoring mobility")).to_be_visible()
    stages = page.locator("ol.stages li")
    assert "completed" in stages.nth(0).inner_text()
    assert "ready" in stages.nth(1).inner_text()
    page.screenshot(path=artifacts / "05-stage-2.png", full_page=True)

    page.get_by_role("link", name="Print the home exercise sheet").click()
    expect(page.get_by_role("heading", name="Your home exercises")).to_be_visible()
    page.screenshot(path=artifacts / "06-sheet.png", full_page=True)


def test_keyboard_reaches_the_screen_form(page, stack):
    page.goto(stack.ehr_url)
    page.get_by_role("button", name="Launch for Sam Okafor").click()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/patient")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
