"""Red flags fail closed, against the real local FHIR server (issue 7, first list).

Each test is one way the app used to fail open: a clear screen after a positive one, a clear
screen plus Resume closing the review, a server that ignores `_include`, a screen with fewer
answers than its version asked. Screens written by version 1 of the app still read.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS, RED_FLAGS, SCREEN_V1, ScreenStatus
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.observations import build_red_flag_answer, build_red_flag_panel
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import concept
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import ProgramRefused
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.review import resume_program
from fhir_rehab.services.writes import utcnow

CLEAR = {k: False for k in RED_FLAG_KEYS}
ACTOR = Actor(None, "Test Clinician")  # display-only: a user the server has no resource for


class IgnoresInclude(FhirClient):
    """The real server, reached as if it ignored `_include` (some servers do): the batch's
    searches go out without it, so a panel comes back without its member answers."""

    def transaction(self, bundle, **options):
        for entry in bundle.get("entry") or []:
            request = entry.get("request") or {}
            if request.get("method") == "GET":
                request["url"] = re.sub(r"&_include=Observation:has-member", "", request["url"])
        return super().transaction(bundle, **options)


def state_of(client, patient):
    return read_patient_record(client, patient).state(SCIATICA_PROGRAM)


@pytest.fixture
def patient(seeded):
    return seeded["eligible-icd10"].patient_id


def test_a_clear_screen_after_a_positive_one_does_not_let_start_through(fhir, patient, run_tag):
    svc.record_screen(
        fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "bladder-bowel": True}, ACTOR, f"{run_tag}-1"
    )
    later = utcnow() + timedelta(minutes=1)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-2", now=later)
    assert state_of(fhir, patient).latest_screen.clear
    with pytest.raises(ProgramRefused) as refused:
        svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR, now=later)
    message = str(refused.value)
    assert "emergency medical review for Bladder or bowel dysfunction" in message
    assert "not yet assigned to anyone" in message and "Task/" not in message
    assert fhir.search_all("CarePlan", {"patient": patient}) == []


def test_a_positive_panel_read_without_its_answers_is_positive(fhir, fhir_server, patient, run_tag):
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "trauma": True}, ACTOR, f"{run_tag}-1")
    blind = IgnoresInclude(fhir_server.base_url, backoff=0.0, timeout=10)
    screen = state_of(blind, patient).latest_screen
    assert screen.answers == {}  # the members really did not come back
    assert screen.status is ScreenStatus.POSITIVE


def test_a_negative_panel_read_without_its_answers_is_incomplete_and_blocks_start(
    fhir, fhir_server, patient, run_tag
):
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-1")
    blind = IgnoresInclude(fhir_server.base_url, backoff=0.0, timeout=10)
    screen = state_of(blind, patient).latest_screen
    assert screen.status is ScreenStatus.INCOMPLETE and not screen.clear
    with pytest.raises(ProgramRefused, match="incomplete .*16 of 16 answers are missing"):
        svc.start_program(blind, SCIATICA_PROGRAM, patient, ACTOR)
    assert svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR).state.started  # a full read


def _write_screen(fhir, patient, members, positive, key, **panel):
    refs = [f"Observation/{fhir.create(m).body['id']}" for m in members]
    now = utcnow()
    return fhir.create(build_red_flag_panel(refs, positive, patient, ACTOR, now, key, **panel)).body


def test_fewer_answers_than_the_version_asked_is_incomplete(fhir, patient, run_tag):
    now = utcnow()
    some = [
        build_red_flag_answer(flag, False, patient, ACTOR, now, f"{run_tag}.{flag.key}")
        for flag in RED_FLAGS[:5]
    ]
    _write_screen(fhir, patient, some, False, run_tag)
    screen = state_of(fhir, patient).latest_screen
    assert screen.status is ScreenStatus.INCOMPLETE
    assert "11 of 16 answers are missing" in screen.problems()
    with pytest.raises(ProgramRefused, match="incomplete"):
        svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)


def test_an_unreadable_answer_is_incomplete(fhir, patient, run_tag):
    now = utcnow()
    members = [build_red_flag_answer(f, False, patient, ACTOR, now, f"{run_tag}.{f.key}") for f in RED_FLAGS]
    members[0] = {**members[0], "valueString": "not sure"}
    del members[0]["valueBoolean"]
    _write_screen(fhir, patient, members, False, run_tag)
    assert state_of(fhir, patient).latest_screen.status is ScreenStatus.INCOMPLETE


def _v1_answer(flag, present, patient, key, now):
    """An answer as version 1 wrote it: the finding code, value Present or Absent."""
    obs = build_red_flag_answer(flag, present, patient, ACTOR, now, key)
    del obs["valueBoolean"]
    obs["code"] = concept(flag.code, flag.question)
    obs["valueCodeableConcept"] = concept(c.SCT_PRESENT if present else c.SCT_ABSENT)
    return obs


@pytest.mark.parametrize(
    "present,status", [((), ScreenStatus.CLEAR), (("leg-weakness",), ScreenStatus.POSITIVE)]
)
def test_version_1_screens_still_read(fhir, patient, run_tag, present, status):
    now = utcnow()
    members = [
        _v1_answer(f, f.key in present, patient, f"{run_tag}.{f.key}", now) for f in SCREEN_V1.questions
    ]
    panel = _write_screen(fhir, patient, members, bool(present), run_tag, version=SCREEN_V1)
    assert "method" not in panel  # version 1 panels carried no version marker
    screen = state_of(fhir, patient).latest_screen
    assert screen.version is SCREEN_V1 and screen.status is status
    assert screen.positive_keys == present


def test_a_started_program_resumes_only_through_a_recorded_review(fhir, patient, run_tag):
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-1")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "night-pain": True}, ACTOR, f"{run_tag}-2")
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, ACTOR, f"{run_tag}-3")
    with pytest.raises(ProgramRefused, match="medical review within 3 days for Constant night pain"):
        resume_program(fhir, SCIATICA_PROGRAM, patient, ACTOR)
    state = state_of(fhir, patient)
    assert state.careplan_status == "on-hold"
    (review,) = [fhir.read("Task", t) for t in state.review_task_ids]
    assert review["status"] == "requested" and review["priority"] == "urgent"
    assert "output" not in review
