"""The sandbox EHR as a CDS Hooks client: chart opens -> signed call -> cards; launch and
dismiss from a card; the invalid-JWT fault shows the refusal."""

from __future__ import annotations

import re

import pytest
import requests

from ehr_sandbox.runner import SandboxStack
from fhir_rehab.cds.runtime import get_cds_runtime
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc


@pytest.fixture(scope="module")
def stack():
    with SandboxStack(auto_approve=True) as running:
        yield running


@pytest.fixture
def ehr():
    return requests.Session()


def patient(stack, key):
    return next(p.patient_id for p in stack.patients if p.key == key)


def chart(ehr, stack, patient_id, **params):
    response = ehr.get(f"{stack.ehr_url}patient/{patient_id}", params=params)
    assert response.status_code == 200
    return response.text


def csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_chart_shows_the_suggestion_card_with_its_source_and_launch(ehr, stack):
    html = chart(ehr, stack, patient(stack, "eligible-icd10"))
    assert "cds-card cds-info" in html
    assert "Staged physiotherapy program for sciatica" in html
    assert "<strong>Lumbago with sciatica, right side</strong>" in html  # Markdown rendered
    assert "Source: fhir-rehab" in html and SCIATICA_PROGRAM.version in html
    assert f'name="url" value="{stack.launch_url}"' in html
    assert "Open fhir-rehab for this patient" in html


def test_without_prefetch_the_service_reads_through_the_scope_checking_proxy(ehr, stack):
    html = chart(ehr, stack, patient(stack, "eligible-snomed"), cds="no_prefetch")
    assert (
        "Staged physiotherapy program for sciatica" in html and "<strong>Sciatica</strong> (23056005)" in html
    )


def test_the_invalid_jwt_fault_shows_the_refusal(ehr, stack):
    html = chart(ehr, stack, patient(stack, "eligible-icd10"), cds="cds_invalid_jwt")
    assert "CDS Hooks call failed" in html and "HTTP 401" in html
    assert "<article" not in html


def test_not_eligible_patient_has_no_card(ehr, stack):
    assert "No cards for this patient." in chart(ehr, stack, patient(stack, "not-eligible"))


def test_open_emergency_review_is_a_red_critical_card(ehr, stack):
    backing = FhirClient(stack.backing_fhir_base)
    answers = {**{k: False for k in RED_FLAG_KEYS}, "saddle-anaesthesia": True}
    svc.record_screen(
        backing, SCIATICA_PROGRAM, patient(stack, "refuted"), answers, Actor("Practitioner/x", "X"), "cds-e1"
    )
    html = chart(ehr, stack, patient(stack, "refuted"))
    assert "cds-card cds-critical" in html and "Emergency red-flag review open" in html
    assert "Saddle anaesthesia" in html


def test_card_link_launches_the_app_and_reports_the_suggestion_taken(ehr, stack):
    pid = patient(stack, "eligible-icd10")
    html = chart(ehr, stack, pid)
    card = re.search(r'name="card" value="([^"]+)"', html).group(1)
    suggestion = re.search(r'name="suggestion" value="([^"]+)"', html).group(1)
    form = {"csrf_token": csrf(html), "patient": pid, "card": card, "suggestion": suggestion}
    refused = ehr.post(f"{stack.ehr_url}cds/launch", data={**form, "url": "https://evil.example/launch"})
    assert refused.status_code == 400 and "does not trust" in refused.text
    launched = ehr.post(
        f"{stack.ehr_url}cds/launch", data={**form, "url": stack.launch_url}, allow_redirects=False
    )
    assert launched.status_code == 302
    assert (
        launched.headers["Location"].startswith(f"{stack.launch_url}?iss=")
        and "launch=" in launched.headers["Location"]
    )
    store = get_cds_runtime(stack.app).store
    taken = [f for f in store.feedback() if f["card"] == card and f["outcome"] == "accepted"]
    assert taken and taken[0]["kind"] == "suggest-program" and taken[0]["acceptedSuggestions"] == [suggestion]


def test_dismiss_sends_the_reason(ehr, stack):
    pid = patient(stack, "eligible-snomed")
    html = chart(ehr, stack, pid)
    card = re.search(r'name="card" value="([^"]+)"', html).group(1)
    reason = re.search(r'<option value="([^"]*cds-override-not-now[^"]*)"', html).group(1)
    done = ehr.post(
        f"{stack.ehr_url}cds/dismiss",
        data={"csrf_token": csrf(html), "patient": pid, "card": card, "reason": reason},
    )
    assert done.status_code == 200 and "Card dismissed; the app was told why." in done.text
    store = get_cds_runtime(stack.app).store
    (item,) = [f for f in store.feedback() if f["card"] == card]
    assert (
        item["outcome"] == "overridden"
        and item["overrideReason"]["display"] == "Not appropriate at this visit"
    )


def test_card_forms_need_the_pages_csrf_token(ehr, stack):
    pid = patient(stack, "eligible-icd10")
    response = ehr.post(f"{stack.ehr_url}cds/launch", data={"patient": pid, "url": stack.launch_url})
    assert response.status_code == 400 and "expired" in response.text
