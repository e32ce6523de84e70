"""Issue 11, as a user sees it: a 307 from the FHIR server on a pain write is an error page that
says so and records nothing (it used to re-send the Observation elsewhere and then say "That
score was already recorded"); one 429 with Retry-After on a page's batch read is retried and
the page loads (it used to be a 503 page)."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Response, request

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.fhir.client import FhirClient
from tests.web.test_input_edges import PAIN, started

PROXY = "sandbox_proxy.proxy"


class ProxyFault:
    """The sandbox's FHIR proxy, answering the next matching request with a fault once."""

    def __init__(self, stack: SandboxStack) -> None:
        self.views = stack.sandbox_app.view_functions
        self.real = self.views[PROXY]
        self.guard = threading.Lock()
        self.fault: tuple[str, Response] | None = None  # (Bundle type, answer)
        self.seen: list[str] = []  # Bundle types of the POSTs to the base after arm()
        self.followed = 0  # requests to the redirect's Location
        self.views[PROXY] = self

    def arm(self, bundle_type: str, answer: Response) -> None:
        self.fault, self.seen, self.followed = (bundle_type, answer), [], 0

    def __call__(self, path: str) -> Any:
        if request.args.get("redirected-here"):
            self.followed += 1
            return Response(status=404)
        if request.method == "POST" and not path:
            kind = str((json.loads(request.get_data() or b"{}") or {}).get("type"))
            with self.guard:
                self.seen.append(kind)
                fault, answer = self.fault or ("", None), None
                if fault[0] == kind:
                    self.fault, answer = None, fault[1]
            if answer is not None:
                return answer
        return self.real(path)

    def close(self) -> None:
        self.views[PROXY] = self.real


@pytest.fixture
def proxy(stack: SandboxStack) -> Iterator[ProxyFault]:
    fault = ProxyFault(stack)
    yield fault
    fault.close()


def test_a_307_on_a_pain_write_is_an_error_page_and_nothing_is_recorded(browser, stack, fresh_patient, proxy):
    started(browser, fresh_patient)
    elsewhere = f"{stack.sandbox_url}/fhir?redirected-here=1"
    proxy.arm("transaction", Response(status=307, headers={"Location": elsewhere}))
    page = browser.post_form("/patient/program", "/patient/score/pain", {"score": "7"})
    text = html.unescape(page.text)
    assert page.status_code == 502
    message = re.search(r'<p class="error-message">(.*?)</p>', text, re.S)
    assert message and "tried to send the request to another address" in message.group(1)
    assert "307" not in message.group(1) and "redirected-here" not in text  # plain words only
    assert "recorded" not in text.lower()
    assert proxy.seen.count("transaction") == 1 and proxy.followed == 0  # sent once, never re-sent
    backing = FhirClient(stack.backing_fhir_base)
    assert backing.search_all("Observation", {"patient": fresh_patient, "code": PAIN}) == []


def test_one_429_on_a_page_read_is_retried_and_the_page_loads(browser, stack, fresh_patient, proxy):
    started(browser, fresh_patient)
    proxy.arm("batch", Response(status=429, headers={"Retry-After": "1"}))
    page = browser.get("/patient/program")
    assert page.status_code == 200, page.text[:300]
    assert proxy.seen.count("batch") >= 2  # the 429 and its retry
    assert proxy.fault is None  # the fault was used
