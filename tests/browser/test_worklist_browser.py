"""A care coordinator in Chromium: picks a sandbox user, launches as coordinator from the EHR,
consents, filters, claims and starts a stage (completing it is the clinician's), sees the next
stage ready, opens the patient's timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record

pytestmark = pytest.mark.browser
ALL_ABSENT = {key: False for key in RED_FLAG_KEYS}


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=False) as running:
        yield running


@pytest.fixture(scope="module")
def programs(stack):
    """The seeded eligible patients with programs (Sam's started 20 days ago: overdue), and
    a red-flag escalation for Jordan."""
    backing = FhirClient(stack.backing_fhir_base)
    by_key = {p.key: p for p in stack.patients}
    now = datetime.now(UTC)
    for key, days in (("eligible-icd10", 3), ("eligible-snomed", 20)):
        patient = by_key[key].patient_id
        started = now - timedelta(days=days)
        svc.record_screen(
            backing, SCIATICA_PROGRAM, patient, ALL_ABSENT, Actor(), str(uuid.uuid4()), now=started
        )
        svc.start_program(backing, SCIATICA_PROGRAM, patient, Actor(), now=started)
        svc.record_pain(backing, patient, 6, Actor(), str(uuid.uuid4()), now=started)
        svc.record_pain(backing, patient, 4, Actor(), str(uuid.uuid4()))
    svc.record_screen(
        backing,
        SCIATICA_PROGRAM,
        by_key["not-eligible"].patient_id,
        {**ALL_ABSENT, "bladder-bowel": True},
        Actor(),
        str(uuid.uuid4()),
    )
    return by_key


def row_of(page, patient_id):
    return page.locator(f'tr:has(a[href$="/worklist/patient/{patient_id}"])')


def filter_by(page, **choices):
    for name, value in choices.items():
        page.locator(f"#f-{name}").select_option(value)
    page.get_by_role("button", name="Filter").click()


def test_coordinator_claims_and_starts_a_stage(page, stack, programs, artifacts):
    page.goto(stack.ehr_url)
    page.get_by_label("Signed in as").select_option("coordinator-dana")
    page.get_by_role("button", name="Switch user").click()
    expect(page.get_by_text("signed in as Dana Okoye")).to_be_visible()
    page.get_by_role("link", name="Launch as coordinator").click()
    page.get_by_role("button", name="Approve").click()  # the sandbox's consent page
    page.wait_for_url("**/worklist")
    expect(page.get_by_text("Signed in as Dana Okoye")).to_be_visible()
    rows = page.locator("table.worklist tbody tr")
    assert "row-review" in rows.first.get_attribute("class")  # the escalation tops the list
    assert "Emergency" in rows.first.inner_text() and "Jordan Lee" in rows.first.inner_text()
    sam = row_of(page, programs["eligible-snomed"].patient_id)
    assert "overdue" in sam.filter(has_text="Stage 1").inner_text()
    # Sam logged no session in 20 days: a follow-up, listed after the review, before the stages
    assert (
        "Follow up: No exercise session logged for 20 days" in sam.filter(has_text="Follow up").inner_text()
    )
    assert "row-follow-up" in rows.nth(1).get_attribute("class")
    page.screenshot(path=artifacts / "worklist-01-list.png", full_page=True)

    alex = programs["eligible-icd10"].patient_id
    filter_by(page, stage="1", owner="unassigned")
    assert page.locator("table.worklist tbody tr").count() == 2
    row_of(page, alex).get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Task claimed.")).to_be_visible()
    assert row_of(page, alex).count() == 0  # no longer unassigned
    page.screenshot(path=artifacts / "worklist-02-claimed.png", full_page=True)

    filter_by(page, owner="me")
    mine = row_of(page, alex)
    assert mine.locator("td.owner").inner_text() == "you"
    mine.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Task is now under way.")).to_be_visible()
    # Completing a clinical stage is the clinician's: no Complete button for the coordinator.
    assert row_of(page, alex).get_by_role("button", name="Complete").count() == 0
    backing = FhirClient(stack.backing_fhir_base)
    stage = read_patient_record(backing, alex).state(SCIATICA_PROGRAM).current
    svc.complete_stage(
        backing,
        SCIATICA_PROGRAM,
        alex,
        stage.task_id,
        Actor("Practitioner/x", "Dr Clinician"),
        early_reason="Pain settled quickly",
    )
    page.screenshot(path=artifacts / "worklist-03-completed.png", full_page=True)

    filter_by(page, stage="2", owner="anyone", status="ready")
    next_stage = row_of(page, alex)
    assert "Stage 2: Restoring mobility" in next_stage.inner_text()
    assert next_stage.locator("td.status").inner_text() == "ready to start"
    page.screenshot(path=artifacts / "worklist-04-next-stage.png", full_page=True)

    next_stage.get_by_role("link", name="Alex Morgan").click()
    expect(page.get_by_role("heading", name="Program timeline")).to_be_visible()
    stages = page.locator("table.timeline tbody tr")
    assert stages.nth(0).locator("td.status").inner_text().startswith("completed")
    assert stages.nth(1).locator("td.status").inner_text() == "ready to start"
    assert page.locator("svg.chart circle").count() == 2
    page.screenshot(path=artifacts / "worklist-05-timeline.png", full_page=True)
