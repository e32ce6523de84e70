"""Every clinician page in plain words: no FHIR ids or references, no uuids, no raw status codes
("draft", "revoked", "on-hold", "entered-in-error", ...) and no "value set", in anything a person
reads (text, and the title/alt/aria-label/placeholder attributes). Hidden form fields may carry
ids; they are not read by anyone."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from tests.web.conftest import CSRF

ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}
REVIEW_LINK = re.compile(r'href="(/patient/review/[^"]+)"')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
REFERENCE = re.compile(
    r"\b(Patient|Practitioner|PractitionerRole|Task|CarePlan|ServiceRequest|Observation|Goal|"
    r"Condition|Provenance|QuestionnaireResponse|DocumentReference|Organization|Encounter)/"
)
RAW_CODES = re.compile(
    r"\b(draft|revoked|on-hold|entered-in-error|in-progress|not-done|requested|"
    r"unconfirmed|provisional|differential|refuted|inactive)\b"
    r"|[Vv]alue ?[Ss]et|\bnull\b|\bNone\b"
)
READ_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}


class VisibleText(HTMLParser):
    """The text a person reads on a page: text nodes (not script/style) and labelling attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def jargon(page: str, *ids: str) -> list[str]:
    text = visible_text(page)
    found = [m.group(0) for pattern in (UUID, REFERENCE, RAW_CODES) for m in pattern.finditer(text)]
    found += [i for i in ids if i and i in text]
    return found


def test_the_checker_finds_what_it_looks_for():
    page = (
        '<p title="Task/1">Status: on-hold</p><input type="hidden" name="patient" value="Patient/9">'
        "<p>no code in the sciatica value set; 0f8fad5b-d9cb-469f-a165-70867728950e</p>"
        "<script>var x = 'draft';</script>"
    )
    assert jargon(page) == ["0f8fad5b-d9cb-469f-a165-70867728950e", "Task/", "on-hold", "value set"]
    assert jargon("<p>The program is paused for a medical review.</p>") == []


@pytest.fixture
def pages(browser, stack, fresh_patient):
    """Every clinician page, for a patient taken through screen, assessment, plan, start, scores,
    an early stage completion, a positive screen with its review, and a stop; plus an ineligible
    and an excluded patient's overview and the other-patient refusal."""
    seen: dict[str, str] = {}

    def keep(name: str, response) -> str:
        seen[name] = response.text
        return response.text

    keep("overview before anything", browser.launch_id(fresh_patient))
    keep("screen form", browser.get("/patient/screen"))
    keep("screen incomplete", browser.post_form("/patient/screen", "/patient/screen", {"trauma": "absent"}))
    keep("screen clear", browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT))
    keep("assessment form", browser.get("/patient/assessment"))
    keep("assessment refused", browser.post_form("/patient/assessment", "/patient/assessment", {}))
    keep(
        "plan after assessment",
        browser.post_form(
            "/patient/assessment",
            "/patient/assessment",
            {"leg_pain": "7", "back_pain": "3", "preference": "extension", "precaution": "osteoporosis"},
        ),
    )
    keep("plan", browser.get("/patient/plan"))
    keep("program started", browser.post_form("/patient", "/patient/start", {}))
    keep("pain recorded", browser.post_form("/patient/program", "/patient/score/pain", {"score": "5"}))
    keep(
        "oswestry recorded", browser.post_form("/patient/program", "/patient/score/oswestry", {"score": "40"})
    )
    program = browser.get("/patient/program").text
    task_id = program.split('name="task_id" value="')[1].split('"')[0]
    version = program.split('name="version" value="')[1].split('"')[0]
    keep(
        "stage completed early",
        browser.post_form(
            "/patient/program",
            "/patient/stage/complete",
            {"task_id": task_id, "version": version, "early": "yes", "early_reason": "Settled"},
        ),
    )
    keep("handout", browser.get("/patient/program/sheet"))
    keep("overview running", browser.get("/patient"))
    positive = keep(
        "screen positive",
        browser.post_form("/patient/screen", "/patient/screen", {**ALL_ABSENT, "leg-weakness": "present"}),
    )
    assert "Red flag present" in positive
    keep("program on hold", browser.get("/patient/program"))
    keep("handout on hold", browser.get("/patient/program/sheet"))
    held = keep("overview on hold", browser.get("/patient"))
    review = REVIEW_LINK.search(held).group(1)
    keep("review form", browser.get(review))
    keep("review refused", browser.post_form(review, review, {"outcome": "cleared", "note": " "}))
    keep(
        "review recorded",
        browser.post_form(review, review, {"outcome": "referred", "note": "To the spinal team"}),
    )
    keep("stopped", browser.post_form("/patient/program", "/patient/program/stop", {"reason": "Moved away"}))
    keep("overview stopped", browser.get("/patient"))
    keep("program stopped", browser.get("/patient/program"))

    other = browser.launch("not-eligible")
    keep("overview not eligible", other)
    keep("overview refuted", browser.launch("refuted"))
    token = CSRF.search(other.text).group(1)
    keep(
        "another patient's form",
        browser.http.post(
            f"{stack.app_url}/patient/score/pain",
            data={"csrf_token": token, "patient": fresh_patient, "score": "9"},
            timeout=30,
        ),
    )
    patients = [p.patient_id for p in stack.patients]
    return seen, [fresh_patient, *patients]


def test_no_ids_status_codes_or_jargon_on_any_clinician_page(pages):
    seen, ids = pages
    assert len(seen) >= 25
    problems = {name: jargon(page, *ids) for name, page in seen.items()}
    problems = {name: found for name, found in problems.items() if found}
    assert problems == {}, "\n".join(
        f"{name}: {found} in ...{visible_text(seen[name])[:4000]}" for name, found in problems.items()
    )
    # The pages say the same things in words.
    assert "paused for a medical review" in visible_text(seen["program on hold"])
    assert "Not eligible." in visible_text(seen["overview not eligible"])
    assert "born " in visible_text(seen["overview running"])  # the banner: name and birth date
    assert "This form was for " in html.unescape(seen["another patient's form"])


def test_the_backing_server_really_holds_what_the_pages_describe(pages, stack):
    """The pages were not empty error pages: the program exists on the server."""
    _, ids = pages
    plans = FhirClient(stack.backing_fhir_base).search_all("CarePlan", {"subject": f"Patient/{ids[0]}"})
    assert [p["status"] for p in plans] == ["revoked"]
