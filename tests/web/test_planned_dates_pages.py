"""The moved planned dates on the pages: after stage 1 ends a week early, the patient's page says
when stage 2 will be reviewed (its new planned end), and so does the clinician's handout."""

from datetime import timedelta

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.seed import seed_demo_patients
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.dates import day
from tests.web.test_patient import ALL_ABSENT, Patient, text


def test_patient_page_and_handout_show_the_moved_review_date(stack, browser):
    backing = FhirClient(stack.backing_fhir_base)
    patient = seed_demo_patients(backing, run=f"moved-{utcnow():%H%M%S%f}")[0].patient_id
    start = utcnow() - timedelta(days=7)
    svc.record_screen(backing, SCIATICA_PROGRAM, patient, ALL_ABSENT, Actor(), f"s1-{patient}", now=start)
    svc.start_program(backing, SCIATICA_PROGRAM, patient, Actor(), now=start)
    planned_first = read_patient_record(backing, patient).state(SCIATICA_PROGRAM).current.planned_end
    assert day(planned_first) == day(start + timedelta(weeks=2))

    now = utcnow()
    svc.record_screen(backing, SCIATICA_PROGRAM, patient, ALL_ABSENT, Actor(), f"s2-{patient}", now=now)
    stage_1 = read_patient_record(backing, patient).state(SCIATICA_PROGRAM).current
    svc.complete_stage(
        backing, SCIATICA_PROGRAM, patient, stage_1.task_id, Actor(), now=now, early_reason="Settled"
    )
    review = day(now + timedelta(weeks=3))  # stage 2 runs 3 weeks from today

    me = Patient(stack, patient)
    page = text(me.open_app().text)
    assert "Stage 2: Restoring mobility" in page
    assert f"Your physiotherapist plans to review this stage by {review}" in page

    browser.launch_id(patient)
    sheet = browser.get("/patient/program/sheet")
    assert sheet.status_code == 200 and f"Next review:</strong> {review}" in sheet.text
