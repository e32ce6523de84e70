"""Issue 11: in Chromium the CSP blocks nothing the app needs, lets the EHR frame the app, and
keeps any other site from framing it."""

from __future__ import annotations

import pytest

from ehr_sandbox.runner import SandboxStack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=True) as running:
        yield running


def frame_host(page, url: str, app_url: str) -> None:
    """Answer `url` (in the browser) with a page that frames the app's /patient page."""
    html = f'<!doctype html><title>host</title><iframe id="app" src="{app_url}/patient"></iframe>'
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))


def test_pages_work_under_the_csp_and_only_the_ehr_may_frame_them(page, stack) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(stack.ehr_url)
    page.get_by_role("button", name="Launch for Alex Morgan").click()
    page.wait_for_url("**/patient")
    page.get_by_role("link", name="Red-flag screen").click()
    page.goto(f"{stack.app_url}/patient/program")
    assert violations == []

    ehr_page = f"{stack.sandbox_url}/_frame-host"
    frame_host(page, ehr_page, stack.app_url)
    page.goto(ehr_page)
    framed = page.frame_locator("#app")
    framed.get_by_text("Eligible.").wait_for(state="visible")
    assert violations == []

    other_port = stack.sandbox_url.rsplit(":", 1)[1]
    stranger = f"http://localhost:{other_port}/_stranger"  # another origin than the EHR's
    frame_host(page, stranger, stack.app_url)
    page.goto(stranger)
    page.wait_for_timeout(500)  # the refused frame loads nothing; there is no event to wait for
    assert page.frame_locator("#app").get_by_text("Eligible.").count() == 0
    assert any("frame-ancestors" in v for v in violations)
