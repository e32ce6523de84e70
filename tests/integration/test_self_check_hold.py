"""The hold a patient's positive self-check puts on the EHR record, at the service level, on both
FHIR profiles: written by the app's system client (here unauthenticated, as the local server
is), once, with Provenance naming the app on the patient's behalf; failing closed otherwise."""

from __future__ import annotations

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import home
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.writes import utcnow
from tests.support.schema import schema_errors

CLEAR = {k: False for k in RED_FLAG_KEYS}
POSITIVE = {**CLEAR, "bladder-bowel": True}
HOLD = home.HoldOnRecord


def running(fhir, seeded, run_tag) -> str:
    patient = seeded["eligible-icd10"].patient_id
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, Actor(), f"{run_tag}-clear")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, Actor())
    return patient


def report(fhir, patient, key):
    """The patient's self-check (their own writes only), and the program as read before it."""
    me = Actor(f"Patient/{patient}", "Alex Patient")
    before = home.read_my_program(fhir, SCIATICA_PROGRAM, patient).state
    result = home.self_check(fhir, SCIATICA_PROGRAM, patient, POSITIVE, me, key)
    return me, before, result


def test_the_hold_is_written_once_by_the_app_on_the_patients_behalf(fhir, seeded, run_tag):
    patient = running(fhir, seeded, run_tag)
    me, before, result = report(fhir, patient, f"{run_tag}-self")
    assert read_patient_record(fhir, patient).state(SCIATICA_PROGRAM).careplan_status == "active"

    hold = home.hold_on_record(fhir, fhir, SCIATICA_PROGRAM, patient, result, before, me, "app-backend")
    assert hold is HOLD.WRITTEN
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert state.careplan_status == "on-hold" and state.paused
    assert [s.status for s in state.stages] == ["ready", "draft", "draft", "draft", "draft"]
    assert state.stages[0].business_status == "red-flag-review"
    plan = fhir.read("CarePlan", state.careplan_id)
    goals = [fhir.read("Goal", g["reference"].split("/")[1]) for g in plan["goal"]]
    assert [g["lifecycleStatus"] for g in goals] == ["on-hold", *["planned"] * 4]
    (provenance,) = [
        p for p in fhir.search_all("Provenance", {"target": f"CarePlan/{plan['id']}"}) if p.get("entity")
    ]
    assert provenance["agent"][0]["who"]["identifier"]["value"] == "app-backend"
    assert provenance["agent"][0]["onBehalfOf"]["reference"] == f"Patient/{patient}"
    assert provenance["entity"][0]["what"]["reference"] == f"Observation/{state.latest_screen.panel_id}"
    assert schema_errors(provenance) == []

    # again (a resubmitted self-check, or a second tab): nothing more to hold
    again = home.hold_on_record(fhir, fhir, SCIATICA_PROGRAM, patient, result, state, me, "app-backend")
    assert again is HOLD.NOT_NEEDED
    assert len(fhir.search_all("Provenance", {"target": f"CarePlan/{plan['id']}"})) == 2  # start, hold


def test_without_a_backend_client_or_when_the_ehr_fails_the_hold_stays_in_the_app(fhir, seeded, run_tag):
    patient = running(fhir, seeded, run_tag)
    me, before, result = report(fhir, patient, f"{run_tag}-self")
    hold = home.hold_on_record(fhir, None, SCIATICA_PROGRAM, patient, result, before, me, "app-backend")
    assert hold is HOLD.NOT_CONFIGURED
    dead = FhirClient("http://127.0.0.1:9/fhir", max_retries=0, timeout=2)
    failed = home.hold_on_record(fhir, dead, SCIATICA_PROGRAM, patient, result, before, me, "app-backend")
    assert failed is HOLD.FAILED
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert state.careplan_status == "active" and state.paused  # the open review pauses it in the app
    review = fhir.read("Task", state.review_task_ids[0])
    assert review["priority"] == "stat" and review["code"]["coding"][0]["code"] == c.APP_MEDICAL_REVIEW.code
    # a stage still cannot be completed while the review is open
    assert state.current is not None


def test_no_running_program_needs_no_hold(fhir, seeded, run_tag):
    patient = seeded["eligible-icd10"].patient_id
    me, before, result = report(fhir, patient, f"{run_tag}-self")
    hold = home.hold_on_record(fhir, fhir, SCIATICA_PROGRAM, patient, result, before, me, "x", utcnow())
    assert hold is HOLD.NOT_NEEDED and result.review_task


class Recording(FhirClient):
    """A client that keeps the method and every transaction entry it sends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, str]] = []

    def request(self, method, path_or_url, **kwargs):
        body = kwargs.get("json") or {}
        entries = body.get("entry") or [] if isinstance(body, dict) else []
        self.sent += [(e["request"]["method"], e["request"]["url"].split("?")[0]) for e in entries]
        if not entries:
            self.sent.append((method.upper(), str(path_or_url).split("?")[0]))
        return super().request(method, path_or_url, **kwargs)


def test_the_patients_token_only_reads_the_app_client_makes_the_changes(fhir_server, fhir, seeded, run_tag):
    patient = running(fhir, seeded, run_tag)
    me, before, result = report(fhir, patient, f"{run_tag}-self")
    mine = Recording(fhir_server.base_url, backoff=0.0, timeout=10)
    app = Recording(fhir_server.base_url, backoff=0.0, timeout=10)
    hold = home.hold_on_record(mine, app, SCIATICA_PROGRAM, patient, result, before, me, "app-backend")
    assert hold is HOLD.WRITTEN
    assert mine.sent and {m for m, _ in mine.sent} == {"GET"}  # the patient's token only reads
    changed = {u.split("/")[0] for m, u in app.sent if m == "PUT"}
    assert changed == {"CarePlan", "Task", "Goal"} or changed == {
        "CarePlan",
        "Task",
        "Goal",
        "ServiceRequest",
    }
    assert {u for m, u in app.sent if m == "POST"} == {"Provenance"}
