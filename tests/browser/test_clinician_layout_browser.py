"""The clinician's pages in Chromium: the screen's error summary (GOV.UK pattern), the navigation
marking the current page, the focus ring's contrast, and the program page and its chart on a
390 px phone (no sideways scrolling, chart text readable)."""

import pytest
from playwright.sync_api import expect

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.program.redflags import RED_FLAG_KEYS

pytestmark = pytest.mark.browser

NAV = {
    "Overview": "/patient",
    "Red-flag screen": "/patient/screen",
    "Assessment": "/patient/assessment",
    "Exercise plan": "/patient/plan",
    "Program": "/patient/program",
}

# WCAG 2.x relative luminance and contrast ratio, computed in the page from computed styles.
CONTRAST_JS = """
([color, background]) => {
  const parse = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = rgb => {
    const [r, g, b] = rgb.map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(parse(color)), lum(parse(background))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""

# The colour behind an element: the first ancestor with an opaque background.
BACKGROUND_JS = """
el => {
  for (let e = el.parentElement; e; e = e.parentElement) {  // the ring is drawn outside the element
    const bg = getComputedStyle(e).backgroundColor;
    if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
  }
  return 'rgb(255, 255, 255)';
}
"""


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=True) as running:
        yield running


def launch(page, stack, name="Alex Morgan"):
    page.goto(stack.ehr_url)
    page.get_by_role("button", name=f"Launch for {name}").click()
    page.wait_for_url("**/patient")


def test_screen_error_summary_is_focused_and_links_to_each_unanswered_question(page, stack):
    launch(page, stack)
    page.get_by_role("link", name="Screen red flags").click()
    answered, missing = RED_FLAG_KEYS[:3], RED_FLAG_KEYS[3:]
    for key in answered:
        page.locator(f"#q-{key} input[value=absent]").check()
    page.get_by_role("button", name="Record screen").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    page.wait_for_function("document.activeElement && document.activeElement.matches('.error-summary')")
    links = summary.get_by_role("link")
    assert links.count() == len(missing)
    links.nth(1).click()
    assert page.evaluate("document.activeElement.id") == f"a-{missing[1]}"
    page.keyboard.press("Space")  # the focused "No" answer can be chosen at once
    assert page.locator(f"#a-{missing[1]}").is_checked()
    for key in answered:  # the answers given are kept
        assert page.locator(f"#q-{key} input[value=absent]").is_checked()
    assert page.locator("fieldset.has-error").count() == len(missing)


def test_navigation_marks_the_current_page(page, stack):
    launch(page, stack, "Sam Okafor")
    nav = page.get_by_role("navigation", name="Patient")
    by_path = {path: label for label, path in NAV.items()}
    for path in NAV.values():
        page.goto(stack.app_url + path)  # without a program, /program goes to the overview
        label = by_path[page.url.removeprefix(stack.app_url)]
        current = nav.locator("[aria-current=page]")
        assert current.count() == 1, label
        assert current.inner_text() == label
        style = current.evaluate("e => getComputedStyle(e).fontWeight")
        assert int(style) >= 700  # marked visibly too, not only for screen readers


def test_focus_ring_contrast_is_at_least_3_to_1(page, stack):
    launch(page, stack, "Sam Okafor")
    checked = 0
    for selector in ("header a", "main a.button, main a", "main button", "header button"):
        element = page.locator(selector).first
        element.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
        style = element.evaluate(
            "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
        )
        assert style[0] != "none" and float(style[1].rstrip("px")) >= 2, (selector, style)
        background = element.evaluate(BACKGROUND_JS)
        ratio = page.evaluate(CONTRAST_JS, [style[2], background])
        assert ratio >= 3, (selector, style[2], background, ratio)
        checked += 1
    assert checked == 4


def test_program_page_and_chart_on_a_390_px_phone(chromium, stack, artifacts):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        launch(page, stack, "Alex Morgan")
        page.get_by_role("link", name="Screen red flags").click()
        for key in RED_FLAG_KEYS:
            page.locator(f"#q-{key} input[value=absent]").check()
        page.get_by_role("button", name="Record screen").click()
        expect(page.get_by_text("no red flags present")).to_be_visible()
        page.get_by_role("button", name="Start the program").click()
        page.wait_for_url("**/patient/program")
        for score in ("7", "5"):
            page.get_by_label("Pain now").fill(score)
            page.get_by_role("button", name="Record pain").click()
            expect(page.get_by_text(f"Pain {score}/10 recorded.")).to_be_visible()
        page.get_by_label("Oswestry Disability Index (0-100 %)").fill("42")
        page.get_by_role("button", name="Record Oswestry score").click()
        expect(page.get_by_text("Oswestry Disability Index 42% recorded.")).to_be_visible()

        # Pain and Oswestry come before the stages and the exercises.
        headings = page.locator("main h2").all_inner_texts()
        assert headings.index("Pain") < headings.index("Stages")
        assert headings.index("Function") < headings.index("Stages")
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)"
            ".map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
        )
        assert width <= 390, f"the page scrolls sideways: {width} px wide: {wide[:8]}"
        chart = page.locator("svg.chart")
        box = chart.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        sizes = chart.locator("text").evaluate_all("ts => ts.map(t => t.getBoundingClientRect().height)")
        assert sizes and min(sizes) >= 11, f"chart text too small at 390 px: {min(sizes):.1f} px"
        texts = chart.locator("text").evaluate_all("ts => ts.map(t => t.textContent)")
        assert any("stage target" in t for t in texts)  # the stage's pain threshold as a line
        assert any(":" in t for t in texts)  # dates with times on the axis
        page.screenshot(path=artifacts / "program-390.png", full_page=True)
    finally:
        context.close()
