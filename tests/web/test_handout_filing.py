"""Filing the handout in the EHR, end to end over real HTTP: a launch granted
DocumentReference create offers the button; filing puts a DocumentReference on the FHIR server
with the one-page PDF attached (valid R4, with Provenance), once per click; a launch whose EHR
withholds that scope is not offered the button and a forged post files nothing."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import replace

from pypdf import PdfReader

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from tests.support.schema import schema_errors
from tests.web.conftest import CSRF, SUBMISSION

ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}
BUTTON = "File it in the patient's record"
DOCUMENT_SCOPES = (
    "patient/DocumentReference.cr",
    "patient/DocumentReference.read",
    "patient/DocumentReference.write",
)


def running_program(browser, patient_id):
    browser.launch_id(patient_id)
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    started = browser.post_form("/patient", "/patient/start", {})
    assert "Program started" in started.text


def documents(backing, patient_id):
    return backing.search_all("DocumentReference", {"subject": f"Patient/{patient_id}"})


def test_filing_puts_the_pdf_in_the_patients_documents_once(browser, stack, fresh_patient):
    backing = FhirClient(stack.backing_fhir_base)
    running_program(browser, fresh_patient)
    sheet = browser.get("/patient/program/sheet").text
    assert BUTTON in sheet
    # No clinic settings: the contact is the launch encounter's serviceProvider, from the EHR.
    assert "Riverside Physiotherapy (sandbox) · 020 7946 0123" in sheet
    form = {
        "csrf_token": CSRF.search(sheet).group(1),
        "patient": fresh_patient,
        "submission_id": SUBMISSION.search(sheet).group(1),
    }
    filed = browser.http.post(f"{stack.app_url}/patient/program/handout/file", data=form, timeout=60)
    assert "The handout was filed in the patient&#39;s documents." in filed.text
    again = browser.http.post(f"{stack.app_url}/patient/program/handout/file", data=form, timeout=60)
    assert "already filed" in again.text  # a double click files it once

    (document,) = documents(backing, fresh_patient)
    assert schema_errors(document) == []
    assert document["status"] == "current"
    assert document["subject"]["reference"] == f"Patient/{fresh_patient}"
    attachment = document["content"][0]["attachment"]
    pdf = base64.b64decode(attachment["data"])
    assert attachment["contentType"] == "application/pdf" and pdf.startswith(b"%PDF-")
    assert attachment["size"] == len(pdf)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Alex Morgan" in text and "Stage 1: Assessment and pain control" in text
    assert "Go to the emergency department now if" in text
    assert "Riverside Physiotherapy (sandbox) · 020 7946 0123" in text
    provenance = backing.search_all("Provenance", {"target": f"DocumentReference/{document['id']}"})
    assert len(provenance) == 1 and schema_errors(provenance[0]) == []


def test_without_the_scope_the_button_is_not_offered_and_nothing_is_filed(browser, stack, fresh_patient):
    backing = FhirClient(stack.backing_fhir_base)
    original = stack.runtime.store.get_client(stack.client_id).registration
    stack.register_client(replace(original, withheld_scopes=DOCUMENT_SCOPES))
    try:
        running_program(browser, fresh_patient)
        sheet = browser.get("/patient/program/sheet")
        assert sheet.status_code == 200 and "Your home exercises" in sheet.text
        assert BUTTON not in sheet.text
        forged = browser.http.post(
            f"{stack.app_url}/patient/program/handout/file",
            data={
                "csrf_token": CSRF.search(browser.get("/patient/program").text).group(1),
                "patient": fresh_patient,
            },
            timeout=60,
        )
        assert "may not add documents to the patient" in forged.text
        assert documents(backing, fresh_patient) == []
    finally:
        stack.register_client(original)
