"""The patient's own pages over real HTTP: portal sign-in, standalone launch, logging sessions,
pain, the weekly Oswestry, the self-check, history and calendar; and the clinician sees it."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import home
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients
from tests.support.schema import schema_errors

ALL_ABSENT = {key: False for key in RED_FLAG_KEYS}


def assert_valid_r4(resource: dict) -> None:
    assert schema_errors(resource) == []


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    with SandboxStack(auto_approve=True) as running:
        yield running


@pytest.fixture(scope="module")
def backing(stack: SandboxStack) -> FhirClient:
    return FhirClient(stack.backing_fhir_base)


def started(backing: FhirClient) -> str:
    """A new patient whose program is running (stage 1 ready)."""
    patient = seed_demo_patients(backing, run=uuid.uuid4().hex[:12])[0].patient_id
    svc.record_screen(backing, SCIATICA_PROGRAM, patient, ALL_ABSENT, Actor(), str(uuid.uuid4()))
    svc.start_program(backing, SCIATICA_PROGRAM, patient, Actor())
    return patient


class Patient:
    """A phone's browser: signs in at the sandbox portal and opens the app from there."""

    def __init__(self, stack: SandboxStack, patient_id: str) -> None:
        self.stack, self.patient_id = stack, patient_id
        self.http = requests.Session()
        self.page = ""

    def open_app(self) -> requests.Response:
        portal = self.http.get(f"{self.stack.sandbox_url}/portal/", timeout=30).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', portal).group(1)
        home_page = self.http.post(
            f"{self.stack.sandbox_url}/portal/sign-in",
            data={"csrf_token": csrf, "patient": self.patient_id},
            timeout=30,
        ).text
        link = re.search(r'<a class="button" href="([^"]+)">Open my exercises</a>', home_page).group(1)
        response = self.http.get(html.unescape(link), timeout=30)
        self.page = response.text
        return response

    def get(self, path: str) -> requests.Response:
        response = self.http.get(f"{self.stack.app_url}{path}", timeout=30)
        self.page = response.text
        return response

    def post(self, action: str, data: dict, page: str = "/me") -> requests.Response:
        form_page = self.get(page).text
        forms = re.findall(
            rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', form_page, re.S
        )
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', forms[0]))
        response = self.http.post(f"{self.stack.app_url}{action}", data={**fields, **data}, timeout=30)
        self.page = response.text
        return response


def text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def own(backing: FhirClient, patient: str, code: c.Code) -> list[dict]:
    return backing.search_all("Observation", {"patient": patient, "code": f"{code.system}|{code.code}"})


def test_portal_sign_in_opens_todays_exercises(stack, backing):
    patient = started(backing)
    me = Patient(stack, patient)
    response = me.open_app()
    assert response.status_code == 200 and response.url == f"{stack.app_url}/me"
    page = text(response.text)
    assert "Stage 1: Assessment and pain control" in page
    assert "Pelvic tilts lying down" in page and "2 sets of 10 repetitions" in page
    assert "<svg" in response.text  # the exercise pictures
    assert "Patient/" not in page  # no FHIR ids on a patient page


def test_log_sessions_pain_and_weekly_check_as_fhir_the_ehr_can_read(stack, backing):
    patient = started(backing)
    me = Patient(stack, patient)
    me.open_app()
    saved = me.post("/me/session", {"all": "1"})
    assert "Session saved" in saved.text
    form = me.get("/me").text
    first = re.search(r'value="([a-z\-]+)" aria-describedby', form).group(1)
    me.post("/me/session", {"exercise": first})
    me.post("/me/pain", {"score": "4"})
    sessions = backing.search_all(
        "Observation",
        {"patient": patient, "code": f"{c.LOINC}|{c.LOINC_EXERCISE_ACTIVITY.code}", "date": "ge2020-01-01"},
    )
    assert len(sessions) == 2
    for obs in sessions:
        assert_valid_r4(obs)
        assert obs["performer"][0]["reference"] == f"Patient/{patient}"
        assert obs["category"][0]["coding"][0]["code"] == "activity"
    assert sorted(len(o["component"]) for o in sessions)[0] == 1
    provenance = backing.search_all("Provenance", {"target": f"Observation/{sessions[0]['id']}"})
    assert provenance[0]["agent"][0]["who"]["reference"] == f"Patient/{patient}"
    pain = own(backing, patient, c.LOINC_PAIN_0_10)
    assert [p["valueInteger"] for p in pain] == [4] and pain[0]["performer"][0][
        "reference"
    ] == f"Patient/{patient}"

    answers = {
        key: "2"
        for key in (
            "pain",
            "personal-care",
            "lifting",
            "walking",
            "sitting",
            "standing",
            "sleeping",
            "social-life",
            "travelling",
        )
    }
    weekly = me.post("/me/oswestry", answers, page="/me/oswestry")
    assert "your score this week is 40 out of 100" in text(weekly.text)
    history = text(me.get("/me/history").text)
    assert "4 out of 10 (you)" in history and "40 out of 100" in history
    calendar = me.get("/me/calendar.ics")
    assert calendar.headers["Content-Type"].startswith("text/calendar") and "BEGIN:VEVENT" in calendar.text


def test_a_double_tap_saves_one_session(stack, backing):
    patient = started(backing)
    me = Patient(stack, patient)
    me.open_app()
    page = me.get("/me").text
    form = re.search(r'<form method="post" action="/me/session"[^>]*>(.*?)</form>', page, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    for _ in range(2):
        me.http.post(f"{stack.app_url}/me/session", data={**fields, "all": "1"}, timeout=30)
    assert len(own(backing, patient, c.LOINC_EXERCISE_ACTIVITY)) == 1


def test_self_check_with_a_cauda_equina_sign_shows_emergency_advice_and_escalates(stack, backing):
    patient = started(backing)
    me = Patient(stack, patient)
    me.open_app()
    answers = {key: "no" for key in RED_FLAG_KEYS} | {"saddle-anaesthesia": "yes"}
    result = me.post("/me/check", answers, page="/me/check")
    page = text(result.text)
    assert "Go to an emergency department now" in page and "cauda equina" in page
    reviews = backing.search_all(
        "Task", {"patient": patient, "code": f"{c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"}
    )
    assert [(t["priority"], t["status"]) for t in reviews] == [("stat", "requested")]
    assert_valid_r4(reviews[0])
    paused = text(me.get("/me").text)
    assert "Your exercises are paused" in paused and "I did all of today's exercises" not in paused
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', me.page).group(1)
    forged = {"all": "1", "csrf_token": csrf, "patient": patient, "submission_id": str(uuid.uuid4())}
    refused = me.http.post(f"{stack.app_url}/me/session", data=forged, timeout=30)
    assert own(backing, patient, c.LOINC_EXERCISE_ACTIVITY) == []
    assert "Your exercises are paused" in text(refused.text)


def test_an_incomplete_self_check_with_a_yes_still_shows_the_advice(stack, backing):
    patient = started(backing)
    me = Patient(stack, patient)
    me.open_app()
    result = me.post("/me/check", {"bladder-bowel": "yes"}, page="/me/check")
    assert result.status_code == 400
    assert "Go to an emergency department now" in text(result.text)
    assert "Answer every question" in text(result.text)


def test_the_clinician_pages_refuse_a_patient_launch(stack, backing):
    me = Patient(stack, started(backing))
    me.open_app()
    assert me.get("/patient").status_code == 401
    assert me.get("/worklist").status_code == 401


class Recording(FhirClient):
    """A client that keeps every request it sends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, str, dict | None]] = []

    def request(self, method, path_or_url, **kwargs):
        self.sent.append((method.upper(), str(path_or_url), kwargs.get("json")))
        return super().request(method, path_or_url, **kwargs)


def test_the_patient_services_never_try_to_change_the_plan_or_tasks(stack, backing):
    patient = started(backing)
    client = Recording(stack.backing_fhir_base)
    me = Actor(f"Patient/{patient}", "Me")
    state = home.read_my_program(client, SCIATICA_PROGRAM, patient).state
    keys = [e.key for e in state.current.exercises]
    home.log_session(client, SCIATICA_PROGRAM, patient, keys, me, str(uuid.uuid4()))
    svc.record_pain(client, patient, 7, me, str(uuid.uuid4()), state.careplan_id)
    svc.record_oswestry(client, patient, 30, me, str(uuid.uuid4()), state.careplan_id)
    home.self_check(
        client, SCIATICA_PROGRAM, patient, {**ALL_ABSENT, "bladder-bowel": True}, me, str(uuid.uuid4())
    )
    writes = []
    for method, url, body in client.sent:
        assert method in ("GET", "POST"), (method, url)
        for entry in (body or {}).get("entry") or []:
            request = entry["request"]
            writes.append((request["method"], request["url"].split("?")[0]))
    assert writes and all(m in ("GET", "POST") for m, _ in writes)
    assert {u for m, u in writes if m == "POST"} <= {
        "Observation",
        "QuestionnaireResponse",
        "Task",
        "Provenance",
    }
    plan = backing.read("CarePlan", state.careplan_id)
    assert plan["status"] == "active"  # unchanged: the open review pauses it instead
    assert home.read_my_program(backing, SCIATICA_PROGRAM, patient).state.paused


def test_the_clinician_sees_adherence_and_patient_reported_pain(stack, backing):
    patient = started(backing)
    me = Patient(stack, patient)
    me.open_app()
    me.post("/me/session", {"all": "1"})
    me.post("/me/pain", {"score": "5"})
    svc.record_pain(backing, patient, 3, Actor("Practitioner/x", "Dr X"), str(uuid.uuid4()))
    clinician = requests.Session()
    clinician.get(f"{stack.sandbox_url}/ehr/launch", params={"patient": patient}, timeout=30)
    page = clinician.get(f"{stack.app_url}/patient/program", timeout=30).text
    words = text(page)
    assert "Home exercise (reported by the patient)" in words
    assert re.search(r'<td class="done">1</td><td>14</td><td class="percent">7 %</td>', page)
    assert page.count('class="by-patient"') == 1 and page.count('class="in-clinic"') == 1
    assert "5/10, reported by the patient" in page and "3/10, recorded in clinic" in page


def test_each_patient_action_is_one_round_trip_with_the_page_after(stack, backing, fhir_calls):
    me = Patient(stack, started(backing))
    me.open_app()
    for action, data, page, said in (
        ("/me/session", {"all": "1"}, "/me", "Session saved"),
        ("/me/pain", {"score": "3"}, "/me", "Pain 3 out of 10 saved"),
    ):
        form_page = me.get(page).text
        forms = re.findall(
            rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', form_page, re.S
        )
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', forms[0]))
        fhir_calls.clear()
        answer = me.http.post(f"{stack.app_url}{action}", data={**fields, **data}, timeout=30)
        assert said in text(answer.text)
        assert len(fhir_calls) == 1, (action, fhir_calls)
    fhir_calls.clear()
    assert "Pain" in me.get("/me").text  # a reload reads: one request
    assert len(fhir_calls) == 1
