"""CDS Hooks in Chromium: open a chart in the sandbox EHR, see the card, press its link, land on
the app's patient page for that patient (a real SMART EHR launch)."""

import pytest
from playwright.sync_api import expect

from ehr_sandbox.runner import SandboxStack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=True) as running:
        yield running


def test_card_link_launches_the_app_for_the_charted_patient(page, stack, artifacts):
    page.goto(stack.ehr_url)
    page.get_by_role("link", name="Open chart of Alex Morgan").click()
    card = page.locator("article.cds-card")
    assert card.count() == 1
    expect(card.get_by_role("heading", name="Staged physiotherapy program for sciatica")).to_be_visible()
    assert card.locator(".cds-indicator").inner_text().lower() == "info"
    assert "fhir-rehab" in card.locator(".cds-source").inner_text()
    page.screenshot(path=artifacts / "cds-01-chart.png", full_page=True)

    card.get_by_role("button", name="Open fhir-rehab for this patient").click()
    page.wait_for_url(f"{stack.app_url}/patient")
    expect(page.get_by_text("Alex Morgan").first).to_be_visible()
    expect(page.get_by_text("Eligible.")).to_be_visible()
    page.screenshot(path=artifacts / "cds-02-app.png", full_page=True)


def test_the_invalid_jwt_fault_is_visible_in_the_chart(page, stack):
    page.goto(stack.ehr_url)
    page.get_by_role("link", name="Open chart of Sam Okafor").click()
    page.get_by_label("CDS Hooks call").select_option("cds_invalid_jwt")
    page.get_by_role("button", name="Reopen chart").click()
    assert page.get_by_role("alert").inner_text().startswith("CDS Hooks call failed")
    assert "HTTP 401" in page.get_by_role("alert").inner_text()
