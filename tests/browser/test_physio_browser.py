"""The physiotherapist in Chromium: assessment -> tailored plan -> start -> program and handout."""

import io
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.program.redflags import RED_FLAG_KEYS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=True) as running:
        yield running


def selected_text(page, select_id):
    return page.locator(f"#{select_id} option:checked").inner_text()


def test_assessment_tailored_plan_start_program_and_handout(page, stack, artifacts):
    page.goto(stack.ehr_url)
    page.get_by_role("button", name="Launch for Alex Morgan").click()
    page.wait_for_url("**/patient")
    page.get_by_role("link", name="Screen red flags").click()
    for key in RED_FLAG_KEYS:
        page.locator(f"#q-{key} input[value=absent]").check()
    page.get_by_role("button", name="Record screen").click()

    # Assessment: a missing pain score is refused with a focused, linked summary; nothing lost.
    page.get_by_role("navigation").get_by_role("link", name="Assessment").click()
    assert (
        page.get_by_role("navigation").get_by_role("link", name="Assessment").get_attribute("aria-current")
        == "page"
    )
    page.get_by_label("Bending backwards (extension)").check()
    page.get_by_role("button", name="Record the assessment").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "leg_pain"
    assert page.get_by_label("Bending backwards (extension)").is_checked()
    page.locator("#leg_pain").fill("7")
    page.locator("#back_pain").fill("4")
    page.locator("#left_slr_angle").fill("35")
    page.get_by_label("Osteoporosis").check()
    page.get_by_role("button", name="Record the assessment").click()

    # The plan proposes extension-biased, osteoporosis-safe defaults.
    page.wait_for_url("**/patient/plan")
    expect(page.get_by_text("Assessment recorded.")).to_be_visible()
    stage_1 = [
        selected_text(page, f"s1-{i}-exercise")
        for i in range(page.locator("[id^=s1-][id$=-exercise]").count())
    ]
    assert not any(name.startswith("Single knee-to-chest") for name in stage_1)
    assert any("bends backwards" in name for name in stage_1)
    assert page.locator(".plan-stage .warning").count() == 0
    assert page.locator("svg.exercise-picture").count() >= 20
    page.screenshot(path=artifacts / "physio-01-plan.png", full_page=True)

    # Swap one exercise, change one dose, add a note; check, then start.
    page.locator("#s2-2-exercise").select_option("seated-hamstring-stretch")
    page.locator("#s1-0-reps").fill("12")
    page.locator("#s1-0-note").fill("Do these before getting out of bed.")
    page.get_by_role("button", name="Check the plan").click()
    assert selected_text(page, "s2-2-exercise").startswith("Back-of-thigh stretch sitting")
    expect(page.get_by_text("swapped for Back-of-thigh stretch sitting")).to_be_visible()
    assert page.locator("#s1-0-reps").input_value() == "12"
    page.get_by_role("button", name="Start the program with this plan").click()

    page.wait_for_url("**/patient/program")
    expect(page.get_by_text("Program started")).to_be_visible()
    table = page.locator("table.exercises")
    assert "Do these before getting out of bed." in table.inner_text()
    assert "12 repetitions" in table.inner_text()
    assert table.locator("svg.exercise-picture").count() == table.locator("tbody tr").count() >= 3
    page.screenshot(path=artifacts / "physio-02-program.png", full_page=True)

    # The handout: printable HTML and a one-page PDF with the pictures, dose and note.
    page.get_by_role("link", name="Print the home exercise sheet").click()
    expect(page.get_by_role("heading", name="Your home exercises")).to_be_visible()
    handout = page.locator("article.handout")
    assert (
        "Alex Morgan" in handout.inner_text()
        and "Do these before getting out of bed." in handout.inner_text()
    )
    assert handout.locator("svg.exercise-picture").count() == handout.locator("section.card").count() >= 3
    assert handout.locator("table.ticks").count() == handout.locator("section.card").count()
    expect(page.get_by_role("heading", name="Go to the emergency department now if")).to_be_visible()
    expect(page.get_by_role("heading", name="Contact us or your doctor the same day if")).to_be_visible()
    page.screenshot(path=artifacts / "physio-03-handout.png", full_page=True)
    href = page.get_by_role("link", name="Download the PDF").get_attribute("href")
    pdf = page.request.get(urljoin(page.url, href))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    (artifacts / "physio-handout.pdf").write_bytes(pdf.body())
    reader = PdfReader(io.BytesIO(pdf.body()))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert (
        "Alex Morgan" in text and "Do these before getting out of bed." in text and "12 repetitions" in text
    )
    assert "emergency department now" in text
