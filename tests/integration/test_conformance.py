"""Every resource the app writes, across every workflow, validates against the official R4 schema.

One patient goes through everything the app can write (screens, program start, pain, stage
completion, coordinator actions, a hold and its review, a stop, a restart); then everything in
the patient's record and every Provenance is read back from the server and validated.
"""

from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.review import Outcome
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.review import record_review, resume_program, stop_program
from fhir_rehab.services.worklist import Intent, change_task
from fhir_rehab.services.writes import utcnow
from tests.support.schema import schema_errors

CLEAR = {k: False for k in RED_FLAG_KEYS}


def state_of(fhir, patient):
    return read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)


def test_every_written_resource_validates(fhir, seeded, run_tag):
    created = fhir.create({"resourceType": "Practitioner", "name": [{"family": "Coordinator"}]})
    actor = Actor(f"Practitioner/{created.body['id']}", "Casey Coordinator")
    patient = seeded["eligible-icd10"].patient_id
    step = iter(range(100))

    def sid():
        return f"{run_tag}-{next(step)}"

    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, actor, sid())
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, actor)
    svc.record_pain(fhir, patient, 4, actor, sid(), state_of(fhir, patient).careplan_id)
    svc.record_pain(
        fhir, patient, 9, actor, sid(), state=state_of(fhir, patient)
    )  # a repeat-screen follow-up
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, actor, sid())  # closes it
    stage = state_of(fhir, patient).current
    svc.complete_stage(fhir, SCIATICA_PROGRAM, patient, stage.task_id, actor, early_reason="Fast recovery")

    stage = state_of(fhir, patient).current  # stage 2: claim, start, hold, resume via worklist
    for intent in (Intent("claim"), Intent("start"), Intent("hold", reason="Away a week"), Intent("resume")):
        version = fhir.read("Task", stage.task_id)["meta"]["versionId"]
        change_task(fhir, SCIATICA_PROGRAM, stage.task_id, version, intent, actor, utcnow())

    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, {**CLEAR, "bladder-bowel": True}, actor, sid())
    (review,) = state_of(fhir, patient).review_task_ids
    for outcome in (Outcome.EMERGENCY, Outcome.CLEARED):  # the medical review, recorded twice
        record_review(fhir, SCIATICA_PROGRAM, patient, review, outcome, "Seen in ED: no CES.", actor)
    svc.record_screen(fhir, SCIATICA_PROGRAM, patient, CLEAR, actor, sid())
    resume_program(fhir, SCIATICA_PROGRAM, patient, actor)
    stop_program(fhir, SCIATICA_PROGRAM, patient, actor, "Moved to another clinic")
    svc.start_program(fhir, SCIATICA_PROGRAM, patient, actor)  # a second episode

    resources = []
    for rtype in ("Observation", "CarePlan", "Task", "Condition"):
        resources += fhir.search_all(rtype, {"patient": patient, "_count": "100"})
    resources += [
        r
        for r in fhir.search_all("QuestionnaireResponse", {"_count": "100"})
        if (r.get("subject") or {}).get("reference") == f"Patient/{patient}"
    ]
    plans = [r for r in resources if r["resourceType"] == "CarePlan"]
    for plan in plans:
        resources += [fhir.read("Goal", g["reference"].split("/")[1]) for g in plan["goal"]]
    targets = {f"{r['resourceType']}/{r['id']}" for r in resources}
    provenance = [
        p
        for p in fhir.search_all("Provenance", {"_count": "100"})
        if any(t["reference"] in targets for t in p["target"])
    ]
    resources += provenance

    kinds = {r["resourceType"] for r in resources}
    assert kinds == {
        "Observation",
        "CarePlan",
        "Task",
        "Condition",
        "Goal",
        "Provenance",
        "QuestionnaireResponse",
    }
    codes = {
        cd["code"] for r in resources if r["resourceType"] == "Observation" for cd in r["code"]["coding"]
    }
    assert "red-flag-review-outcome" in codes  # the recorded review is among what was validated
    reasons = {
        cd["code"]
        for r in resources
        if r["resourceType"] == "Task"
        for cd in (r.get("reasonCode") or {}).get("coding") or []
    }
    assert "repeat-red-flag-screen" in reasons  # and the follow-up (one Task code, its reason)
    assert len(plans) == 2 and len(provenance) >= 10
    for resource in resources:
        assert schema_errors(resource) == [], f"{resource['resourceType']}/{resource['id']}"

    # Readable without the app: generated narrative on what the EHR shows, kept current.
    shown = [r for r in resources if r["resourceType"] in {"Observation", "CarePlan", "Task", "Goal"}]
    for resource in shown:
        text = resource.get("text") or {}
        assert text.get("status") == "generated", f"{resource['resourceType']}/{resource['id']}"
        assert text["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    for plan in plans:
        assert plan["category"][0]["coding"][0]["code"] == "assess-plan"
        assert ("stopped" if plan["status"] == "revoked" else "active") in plan["text"]["div"]

    # Provenance is in the patient's compartment: a patient-level search finds all of it.
    in_compartment = {p["id"] for p in fhir.search_all("Provenance", {"patient": patient, "_count": "100"})}
    assert {p["id"] for p in provenance} <= in_compartment

    # The Goals follow their plan: the stopped plan's open Goals are cancelled.
    stopped = next(p for p in plans if p["status"] == "revoked")
    goals = [fhir.read("Goal", g["reference"].split("/")[1]) for g in stopped["goal"]]
    assert {g["lifecycleStatus"] for g in goals} == {"completed", "cancelled"}
    assert goals[0]["achievementStatus"]["coding"][0]["code"] in {"achieved", "not-achieved"}
