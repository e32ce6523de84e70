"""The whole red-flag path through the real pages (issue 7, "Done when").

A running program; a positive screen puts it on hold; Start is refused; the coordinator cannot
close the review; the clinician records "referred" (still on hold), then "cleared"; a new clear
screen and Resume bring the exercises back. The FHIR server then holds the review outcomes, their
Provenance naming the reviewer, and no review Task closed by anyone but the reviewer.
"""

from __future__ import annotations

import html
import re

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from tests.web.test_worklist import Coordinator, text

EXERCISE = SCIATICA_PROGRAM.stage(1).exercises[0].name  # shown only while not on hold
ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}
REVIEW_LINK = re.compile(r'href="(/patient/review/([^"]+))"')


def words(response) -> str:
    return text(response)


def test_positive_screen_to_recorded_review_to_resume(browser, stack, fresh_patient):
    backing = FhirClient(stack.backing_fhir_base)
    browser.launch_id(fresh_patient)
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    assert "Program started" in browser.post_form("/patient", "/patient/start", {}).text

    # 1. A positive screen (cauda equina sign): an emergency, the program on hold.
    positive = browser.post_form(
        "/patient/screen", "/patient/screen", {**ALL_ABSENT, "toilet-sensation": "present"}
    )
    assert "Emergency: send the patient to the emergency department now" in words(positive)
    assert "Altered sensation when passing urine or wiping" in words(positive)

    # 2. Start is refused, naming the review in words and who has it (the overview offers no
    # Start while the program is on hold: the form is posted from a tab opened before).
    assert "paused for a medical review" in words(browser.get("/patient"))
    refused = browser.post_form("/patient/program", "/patient/start", {})
    assert (
        "emergency medical review for Altered sensation when passing urine or wiping "
        "(not yet assigned to anyone)" in words(refused)
    )
    review_path, review_id = REVIEW_LINK.search(refused.text).groups()

    # 3. The coordinator can claim it but neither close, cancel nor hold it.
    coordinator = Coordinator(stack, "coordinator-robin")
    coordinator.launch()
    coordinator.open(status="requested")
    row = next(r for r in coordinator.rows() if r.task_id == review_id)
    assert not {"complete", "cancel", "hold", "start"} & set(row.actions)
    for action in ("complete", "cancel", "hold"):
        forged = coordinator.act(row, action, reason="Patient feels better")
        assert "Not changed: Coordinators cannot do this" in words(forged)
    assert "Task claimed." in words(coordinator.act(row, "claim"))

    # 4. The clinician records "referred to emergency care": still on hold.
    referred = browser.post_form(
        review_path, review_path, {"outcome": "referred-emergency", "note": "Sent to ED for MRI."}
    )
    assert "Review recorded: Referred to emergency care" in words(referred)
    program = words(browser.get("/patient/program"))
    assert "Stop: no exercises" in program and "Go to the emergency department now" in program
    assert "Resume the program" not in program and EXERCISE not in program
    assert browser.get("/patient/program/sheet").status_code == 409
    still = browser.post_form("/patient/program", "/patient/program/resume", {})
    assert "cannot resume while the emergency medical review" in words(still)
    assert "with Sandbox Practitioner" in words(still)  # the reviewer now owns it

    # 5. The clinician records "cleared"; a new clear screen; Resume: exercises again.
    cleared = browser.post_form(
        review_path, review_path, {"outcome": "cleared", "note": "MRI normal: no cauda equina compression."}
    )
    assert "Review recorded: Cleared to continue the exercise program" in words(cleared)
    browser.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
    resumed = browser.post_form("/patient/program", "/patient/program/resume", {})
    assert "The program is running again." in words(resumed)
    assert html.escape(EXERCISE) in resumed.text and "Stop: no exercises" not in resumed.text
    assert browser.get("/patient/program/sheet").status_code == 200

    # 6. What the FHIR server now holds.
    task = backing.read("Task", review_id)
    assert task["status"] == "completed"
    assert task["statusReason"]["coding"][0]["code"] == c.REVIEW_CLEARED.code
    recorded = [
        o["valueCodeableConcept"]["coding"][0]["code"] for o in task["output"] if "valueCodeableConcept" in o
    ]
    assert recorded == [c.REVIEW_REFERRED_EMERGENCY.code, c.REVIEW_CLEARED.code]
    outcome_refs = [o["valueReference"]["reference"] for o in task["output"] if "valueReference" in o]
    reviewer = task["owner"]
    assert reviewer["display"] == "Sandbox Practitioner"
    for ref in outcome_refs:
        obs = backing.read(*ref.split("/"))
        assert obs["code"]["coding"][0]["code"] == c.APP_REVIEW_OUTCOME.code
        assert obs["performer"] == [reviewer] and obs["focus"] == [{"reference": f"Task/{review_id}"}]
        provenance = backing.search_all("Provenance", {"target": ref})
        assert [p["agent"][0]["who"] for p in provenance] == [reviewer]

    # Every version of the review Task that changed its status was written by the reviewer.
    history = backing.search_all("Provenance", {"target": f"Task/{review_id}"})
    authors = {p["agent"][0]["who"].get("display") for p in history}
    assert authors <= {"Sandbox Practitioner", "Robin Reyes"}
    closing = [p for p in history if any(t["reference"] in outcome_refs for t in p["target"])]
    assert len(closing) == 2 and all(p["agent"][0]["who"] == reviewer for p in closing)
    robin = [p for p in history if p["agent"][0]["who"].get("display") == "Robin Reyes"]
    assert len(robin) == 1  # the claim: the coordinator's only write on the review
    assert html.unescape(task["description"]).startswith("Red flags present: Altered sensation")
