"""The coordinator's worklist over real HTTP: standalone launch through the sandbox, filters,
Task actions with If-Match, conflicts between two coordinators, refusals, paging, timeline."""

from __future__ import annotations

import html
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.seed import seed_demo_patients
from tests.support.profiles import profile_server
from tests.web.conftest import CSRF

PAGE_SIZE = 4
EARLIER = itertools.count(1)
ALL_ABSENT = {key: False for key in RED_FLAG_KEYS}
ROW = re.compile(r'<tr class="row-(?P<kind>\w+)[^"]*" data-task="(?P<id>[^"]+)">(?P<body>.*?)</tr>', re.S)


@pytest.fixture(scope="module")
def stack(fhir_profile: str) -> Iterator[SandboxStack]:
    with (
        profile_server(fhir_profile) as server,
        SandboxStack(
            fhir_base=server.base_url, auto_approve=True, app_config={"WORKLIST_PAGE_SIZE": PAGE_SIZE}
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def backing(stack: SandboxStack) -> FhirClient:
    return FhirClient(stack.backing_fhir_base)


def start_program(backing: FhirClient) -> tuple[str, str]:
    """A new patient with a running program; returns (patient id, name).

    Each program starts a minute before the previous one, so its stage 1 is due first and
    its row tops the stage-1 list (stage 1 is due 14 days after the start: not overdue).
    """
    started = datetime.now(UTC) - timedelta(days=13, minutes=next(EARLIER))
    seeded = seed_demo_patients(backing, run=uuid.uuid4().hex[:12])[0]
    svc.record_screen(
        backing, SCIATICA_PROGRAM, seeded.patient_id, ALL_ABSENT, Actor(), str(uuid.uuid4()), now=started
    )
    svc.start_program(backing, SCIATICA_PROGRAM, seeded.patient_id, Actor(), now=started)
    return seeded.patient_id, seeded.name


@dataclass
class Row:
    task_id: str
    kind: str
    body: str

    def field(self, css: str) -> str:
        found = re.search(rf'<td class="{css}">(.*?)</td>', self.body, re.S)
        return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""

    @property
    def version(self) -> str:
        return re.search(r'name="version" value="([^"]*)"', self.body).group(1)

    @property
    def actions(self) -> list[str]:
        return re.findall(r'name="action" value="([^"]+)"', self.body)

    @property
    def patient_href(self) -> str:
        return re.search(r'<a href="([^"]+)">', self.body).group(1)


class Coordinator:
    """A browser session of one coordinator: signs in to the sandbox EHR as `user`, then
    follows its "Launch as coordinator" link (a standalone launch with role=coordinator)."""

    def __init__(self, stack: SandboxStack, user: str | None = None) -> None:
        self.stack = stack
        self.user = user
        self.http = requests.Session()
        self.page = ""
        self.url = ""

    def launch(self) -> requests.Response:
        params = {"user": self.user} if self.user else {}
        ehr = self.http.get(self.stack.ehr_url, params=params, timeout=30).text
        link = re.search(r'<a class="button" href="([^"]+)">Launch as coordinator</a>', ehr)
        response = self.http.get(html.unescape(link.group(1)), timeout=30)
        self._keep(response)
        return response

    def open(self, path: str = "/worklist", **params: str) -> requests.Response:
        response = self.http.get(f"{self.stack.app_url}{path}", params=params, timeout=30)
        self._keep(response)
        return response

    def _keep(self, response: requests.Response) -> None:
        self.page, self.url = response.text, response.url

    def rows(self) -> list[Row]:
        return [Row(m["id"], m["kind"], m["body"]) for m in ROW.finditer(self.page)]

    def row_for(self, patient_id: str) -> Row:
        return next(r for r in self.rows() if f'/worklist/patient/{patient_id}"' in r.body)

    def act(self, row: Row, action: str, **fields: str) -> requests.Response:
        """Post an action form as the page rendered it (its version), unless told otherwise."""
        data = {
            "csrf_token": CSRF.search(self.page).group(1),
            "version": row.version,
            "action": action,
            "return_to": self.url.split(self.stack.app_url, 1)[1],
            **fields,
        }
        response = self.http.post(f"{self.stack.app_url}/worklist/task/{row.task_id}", data=data, timeout=30)
        self._keep(response)
        return response


@pytest.fixture
def coordinator(stack: SandboxStack) -> Coordinator:
    person = Coordinator(stack)
    assert person.launch().status_code == 200
    return person


def text_of(page: str) -> str:
    """Only what a person reads: tags, attributes and URLs (where codes belong) dropped."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def text(response: requests.Response) -> str:
    """The page's words: tags dropped, whitespace collapsed."""
    return text_of(response.text)


def test_coordinator_launch_lands_on_the_worklist(stack, backing):
    patient, name = start_program(backing)
    person = Coordinator(stack)
    page = person.launch()
    assert page.status_code == 200 and page.url.startswith(f"{stack.app_url}/worklist")
    assert "Program worklist" in page.text and "Signed in as Sandbox Practitioner" in page.text
    assert "patient-banner" not in page.text  # no patient in context
    person.open(stage="1", owner="unassigned", status="ready")
    assert f">{name}<" in person.row_for(patient).body


def test_filter_claim_start_and_no_complete_button_for_a_clinical_stage(coordinator, backing):
    patient, name = start_program(backing)
    coordinator.open(stage="1", status="ready", owner="unassigned")
    row = coordinator.row_for(patient)
    assert row.field("status") == "ready to start" and row.field("owner") == "unassigned"
    assert row.actions[:2] == ["claim", "start"] and "complete" not in row.actions

    claimed = coordinator.act(row, "claim")
    assert "Task claimed." in claimed.text
    coordinator.open(stage="1", owner="me")
    row = coordinator.row_for(patient)
    assert row.field("owner") == "you" and "claim" not in row.actions

    assert "Task is now under way." in coordinator.act(row, "start").text
    coordinator.open(stage="1", owner="me", status="in-progress")
    row = coordinator.row_for(patient)
    assert "complete" not in row.actions and "cancel" not in row.actions
    assert "hold" in row.actions and "note" in row.actions
    # Plain words for people: the status column, the count chips and the filter say no FHIR code.
    assert row.field("status") == "under way"
    page = coordinator.open(stage="1", owner="me").text
    assert "in-progress" not in text_of(page) and ">under way" in page
    refused = coordinator.act(row, "complete")  # forged: the page offers no Complete
    assert "Not changed: Coordinators cannot do this: completing a stage" in text(refused)
    assert backing.read("Task", row.task_id)["status"] == "in-progress"


def test_a_review_row_offers_only_claim_assign_and_note(coordinator, backing):
    seeded = seed_demo_patients(backing, run=uuid.uuid4().hex[:12])[0]
    answers = {**ALL_ABSENT, "rectal-fullness": True}
    svc.record_screen(backing, SCIATICA_PROGRAM, seeded.patient_id, answers, Actor(), str(uuid.uuid4()))
    coordinator.open(status="requested")
    row = coordinator.row_for(seeded.patient_id)
    assert row.kind == "review" and {"claim", "note"} <= set(row.actions) <= {"claim", "assign", "note"}
    for action in ("complete", "cancel", "hold"):
        refused = coordinator.act(row, action, reason="Patient says they are fine")
        assert "Not changed: Coordinators cannot do this" in text(refused)
    task = backing.read("Task", row.task_id)
    assert task["status"] == "requested" and task["meta"]["versionId"] == row.version


def test_two_coordinators_change_one_task_one_wins_the_other_is_told(stack, backing):
    patient, name = start_program(backing)
    first, second = Coordinator(stack, "coordinator-robin"), Coordinator(stack, "coordinator-dana")
    for person in (first, second):
        person.launch()
        person.open(stage="1", status="ready", owner="unassigned")
    row_first, row_second = first.row_for(patient), second.row_for(patient)
    assert row_first.version == row_second.version

    won = first.act(row_first, "claim")
    lost = second.act(row_second, "note", reason="Waiting for the MRI report")
    assert won.status_code == 200 and "Task claimed." in won.text
    assert lost.status_code == 409
    page = text(lost)
    assert "Someone else changed this task" in page
    assert "Signed in as Dana Okoye" in page
    assert "Owner now Robin Reyes" in page  # the loser is told who has it
    assert "Changed by Robin Reyes" in page  # from the Task's latest Provenance
    assert "Waiting for the MRI report" in page  # the intent is kept
    newer = re.search(r'name="version" value="([^"]+)"', lost.text).group(1)
    assert int(newer) == int(row_second.version) + 1

    # reapply from the conflict page: it carries the new version and the reason
    data = {
        "csrf_token": CSRF.search(lost.text).group(1),
        "version": newer,
        "action": "note",
        "reason": "Waiting for the MRI report",
        "return_to": "/worklist",
    }
    again = second.http.post(f"{stack.app_url}/worklist/task/{row_second.task_id}", data=data, timeout=30)
    assert "Note added." in again.text
    task = backing.read("Task", row_second.task_id)
    assert task["note"][-1]["text"] == "Waiting for the MRI report"
    assert task["status"] == "ready" and task["owner"]["display"] == "Robin Reyes"
    authors = {
        p["agent"][0]["who"]["display"]
        for p in backing.search_all("Provenance", {"target": f"Task/{task['id']}"})
    }
    assert {"Robin Reyes", "Dana Okoye"} <= authors  # every write names its coordinator


def test_an_illegal_transition_is_explained_and_nothing_changes(coordinator, backing):
    patient, name = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    refused = coordinator.act(row, "resume")  # forged: the page offers no Resume here
    assert "Not changed: Only a task on hold can be resumed" in text(refused)
    assert backing.read("Task", row.task_id)["meta"]["versionId"] == row.version


def test_a_stale_version_gets_the_conflict_page(coordinator, backing):
    patient, name = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    coordinator.act(row, "claim")
    stale = coordinator.act(row, "start")  # the version from before the claim
    assert stale.status_code == 409 and "Someone else changed this task" in stale.text
    assert backing.read("Task", row.task_id)["status"] == "ready"


def test_a_task_that_is_not_the_apps_is_refused(coordinator, backing):
    patient, _ = start_program(backing)
    foreign = backing.create(
        {
            "resourceType": "Task",
            "status": "ready",
            "intent": "order",
            "for": {"reference": f"Patient/{patient}"},
        }
    ).body
    coordinator.open()
    row = Row(foreign["id"], "stage", f'name="version" value="{foreign["meta"]["versionId"]}"')
    refused = coordinator.act(row, "claim")
    assert refused.status_code == 403 and "does not belong to fhir-rehab" in refused.text
    assert "owner" not in backing.read("Task", foreign["id"])


def test_next_page_follows_the_server_and_tokens_are_opaque(coordinator, backing):
    for _ in range(PAGE_SIZE + 1):
        start_program(backing)
    first = coordinator.open(stage="1", status="ready")
    link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert link and "_offset" not in link.group(1) and "http" not in link.group(1)
    seen = [r.task_id for r in coordinator.rows()]
    second = coordinator.open(
        html.unescape(link.group(1)).split("?")[0],
        **dict(re.findall(r"(\w+)=([^&]+)", html.unescape(link.group(1)).split("?")[1])),
    )
    assert "page 2" in second.text
    more = [r.task_id for r in coordinator.rows()]
    assert more and not set(more) & set(seen)
    expired = coordinator.open(stage="1", status="ready", page="not-a-token")
    assert "has expired" in expired.text and "page 1" in expired.text


def test_patient_timeline_has_stages_screens_and_the_pain_chart(coordinator, backing):
    patient, name = start_program(backing)
    svc.record_pain(backing, patient, 6, Actor(), str(uuid.uuid4()))
    coordinator.open(stage="1", status="ready")
    page = coordinator.open(coordinator.row_for(patient).patient_href)
    assert page.status_code == 200 and name in page.text
    assert "Stage 1: Assessment and pain control" in page.text
    assert (
        "no red flags" in page.text
        and f"{len(RED_FLAG_KEYS)} of {len(RED_FLAG_KEYS)} questions answered" in page.text
    )
    assert "<svg" in page.text and "6/10" in page.text
    assert "cdn" not in page.text.lower()


def test_worklist_actions_need_the_csrf_token(coordinator, backing):
    patient, name = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    response = coordinator.http.post(
        f"{coordinator.stack.app_url}/worklist/task/{row.task_id}",
        data={"version": row.version, "action": "claim"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "owner" not in backing.read("Task", row.task_id)


def test_a_patient_launch_does_not_open_the_worklist(stack):
    http = requests.Session()
    patient = stack.patients[0].patient_id
    http.get(f"{stack.sandbox_url}/ehr/launch", params={"patient": patient}, timeout=30)
    response = http.get(f"{stack.app_url}/worklist", timeout=30)
    assert response.status_code == 401 and "coordinator launch" in response.text


@pytest.mark.parametrize(
    "return_to", ["https://evil.example/worklist", "//evil.example/x", "/patient", "/worklist\\@evil.example"]
)
def test_after_an_action_the_redirect_stays_on_the_worklist(coordinator, backing, return_to):
    patient, name = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    data = {
        "csrf_token": CSRF.search(coordinator.page).group(1),
        "version": row.version,
        "action": "claim",
        "return_to": return_to,
    }
    response = coordinator.http.post(
        f"{coordinator.stack.app_url}/worklist/task/{row.task_id}",
        data=data,
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    assert response.headers["Location"] in ("/worklist", f"{coordinator.stack.app_url}/worklist")


def test_the_assign_list_preselects_nobody(coordinator, backing):
    patient, name = start_program(backing)
    coordinator.open(stage="1", status="ready")
    body = coordinator.row_for(patient).body
    select = re.search(r'<select id="owner-[^"]+" name="owner" required>(.*?)</select>', body, re.S).group(1)
    options = re.findall(r"<option([^>]*)>", select)
    assert options[0] == ' value="" selected' and all("selected" not in o for o in options[1:])
    refused = coordinator.act(coordinator.row_for(patient), "assign", owner="")
    assert "Not changed: Choose a practitioner." in text(refused)


def test_apply_my_change_warns_before_taking_another_persons_claim(stack, backing):
    patient, name = start_program(backing)
    first, second = Coordinator(stack, "coordinator-robin"), Coordinator(stack, "coordinator-dana")
    for person in (first, second):
        person.launch()
        person.open(stage="1", status="ready", owner="unassigned")
    first.act(first.row_for(patient), "claim")
    lost = second.act(second.row_for(patient), "claim")
    assert lost.status_code == 409
    page = text(lost)
    assert "Robin Reyes has this task now. Applying your change takes it from them" in page
    assert re.search(
        r'<input type="checkbox" name="takeover_of" value="Practitioner/[^"]+" required>', lost.text
    )
    data = {
        "csrf_token": CSRF.search(lost.text).group(1),
        "version": re.search(r'name="version" value="([^"]+)"', lost.text).group(1),
        "action": "claim",
        "return_to": "/worklist",
    }
    task_id = re.search(r'action="/worklist/task/([^"]+)"', lost.text).group(1)
    unconfirmed = second.http.post(f"{stack.app_url}/worklist/task/{task_id}", data=data, timeout=30)
    assert "Robin Reyes has this task now" in text(unconfirmed)
    assert backing.read("Task", task_id)["owner"]["display"] == "Robin Reyes"
    takeover = re.search(r'name="takeover_of" value="([^"]+)"', lost.text).group(1)
    confirmed = second.http.post(
        f"{stack.app_url}/worklist/task/{task_id}", data={**data, "takeover_of": takeover}, timeout=30
    )
    assert "Task claimed." in confirmed.text
    assert backing.read("Task", task_id)["owner"]["display"] == "Dana Okoye"


def test_held_program_review_words_and_timeline(coordinator, backing):
    patient, name = start_program(backing)
    svc.record_screen(
        backing,
        SCIATICA_PROGRAM,
        patient,
        {**ALL_ABSENT, "saddle-anaesthesia": True},
        Actor(),
        "s-" + patient,
    )
    svc.record_oswestry(backing, patient, 44, Actor(), str(uuid.uuid4()))
    coordinator.open(status="on-hold", stage="")
    held = [r for r in coordinator.rows() if f'/worklist/patient/{patient}"' in r.body]
    # one row: only the stage under way is on hold (R4), later stages stay draft
    assert len(held) == 1 and "stages of this program on hold" not in held[0].body
    coordinator.open(status="requested")
    review = coordinator.row_for(patient)
    assert "For: Saddle anaesthesia" in review.body
    page = coordinator.open(review.patient_href)
    assert "44 %" in page.text and "baseline" in page.text
    # held, in words: the plan is on hold, its stage 1 never started (it stays ready, R4)
    words = text_of(page.text)
    assert "The program is on hold : paused for a medical review" in words
    assert "on hold (not started)" in words and "on-hold" not in words
    from fhir_rehab.services.review import stop_program

    stop_program(backing, SCIATICA_PROGRAM, patient, Actor(), "Referred to surgery")
    page = coordinator.open(review.patient_href)
    assert re.findall(r'<td class="started">([^<]*)</td>', page.text) == ["—"] * 5
    assert re.findall(r'<td class="ended">([^<]*)</td>', page.text) == ["—"] * 5


@pytest.mark.parametrize(
    "status,code,words",
    [
        ("403 Forbidden", 403, "The EHR did not grant the app access to this data."),
        ("401 Unauthorized", 401, "Relaunch the app from the EHR."),
    ],
)
def test_a_refused_entry_of_the_worklist_batch_is_told_as_such(coordinator, monkeypatch, status, code, words):
    """HAPI authorizes batch entries one by one (the sandbox refuses whole requests): a refused
    entry is the same page as a refused request, not "the EHR did not answer as expected"."""
    real = FhirClient.transaction

    def refuse_practitioners(self, bundle, **kwargs):
        answer = real(self, bundle, **kwargs)
        if bundle.get("type") == "batch" and "Practitioner?" in bundle["entry"][-1]["request"]["url"]:
            answer["entry"][-1] = {"response": {"status": status}}
        return answer

    monkeypatch.setattr(FhirClient, "transaction", refuse_practitioners)
    page = coordinator.open()
    assert page.status_code == code
    assert words in text(page) and "did not answer as expected" not in text(page)


def test_an_action_and_the_page_after_it_take_one_round_trip(coordinator, backing, monkeypatch):
    """One transaction: a patch of what the action changes on the row the page showed (no read
    of the whole Task first), and the reads of the page the action returns to."""
    patient, _ = start_program(backing)
    coordinator.open(stage="1", status="ready")
    row = coordinator.row_for(patient)
    calls: list[str] = []
    send = requests.Session.send
    base = coordinator.stack.fhir_base.rstrip("/")

    def counting(session, request, **kwargs):
        if str(request.url).startswith(base):
            calls.append(f"{request.method} {request.url}")
        return send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    claimed = coordinator.act(row, "claim")
    assert "Task claimed." in claimed.text
    assert claimed.url.startswith(f"{coordinator.stack.app_url}/worklist")
    assert len(calls) == 1, calls
    assert coordinator.row_for(patient).field("owner") == "you"  # the page shows the claim
