"""Assessment -> tailored plan -> start, against the real local FHIR server: what another system
sees (a plain ServiceRequest search), what the app rebuilds, and how changes are written."""

import pytest

from fhir_rehab.program.assessment import Assessment, SideFindings
from fhir_rehab.program.model import Direction, Dosage, Precaution
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as P
from fhir_rehab.program.tailoring import Prescribed, Profile, conflicts
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.assessment import record_assessment
from fhir_rehab.services.errors import ProgramRefused, StaleVersion
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.tailoring import propose_plan, update_plan
from tests.support.schema import schema_errors

ACTOR = Actor(None, "Pat Physio")  # display-only: no Practitioner resource on the server
ASSESSMENT = Assessment(
    leg_pain=7,
    back_pain=4,
    odi_sections=(3, 1, 4, 2, 4, 3, 2, None, 2, 3),
    left=SideFindings(
        slr_angle=35, slr_leg_pain=True, weak_l5=True, knee_reflex="normal", ankle_reflex="reduced"
    ),
    right=SideFindings(slr_angle=80, slr_leg_pain=False),
    preference=Direction.EXTENSION,
    precautions=frozenset({Precaution.OSTEOPOROSIS}),
)


@pytest.fixture
def assessed(fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    svc.record_screen(fhir, P, patient, {k: False for k in RED_FLAG_KEYS}, ACTOR, f"scr-{patient}")
    written = record_assessment(fhir, patient, ASSESSMENT, ACTOR, f"asm-{patient}")
    again = record_assessment(fhir, patient, ASSESSMENT, ACTOR, f"asm-{patient}")
    assert again.created == [] and sorted(again.refs) == sorted(written.refs), (
        "a double submit writes nothing"
    )
    return patient


def _tailored(state):
    plan = {n: list(p.items) for n, p in propose_plan(P, state).items()}
    stage_2 = plan[2]
    # swap one exercise, change one dose, add a note
    swapped = Prescribed(
        P.exercise("seated-hamstring-stretch"), P.exercise("seated-hamstring-stretch").dosage
    )
    stage_2[2] = swapped
    stage_2[1] = Prescribed(
        stage_2[1].exercise, Dosage(reps=4, hold_seconds=20, times_per_day=1, each_side=True)
    )
    stage_2[3] = Prescribed(
        stage_2[3].exercise, stage_2[3].dosage, side="both", note="Slowly, in the morning."
    )
    return plan


def test_assessment_reads_back_and_chooses_safe_defaults(fhir, assessed):
    state = read_patient_record(fhir, assessed).state(P)
    baseline = state.latest_assessment
    assert baseline.preference is Direction.EXTENSION and baseline.precautions == {Precaution.OSTEOPOROSIS}
    assert baseline.left.slr_angle == 35 and baseline.left.weak_l5 and baseline.left.ankle_reflex == "reduced"
    assert baseline.odi == round(100 * 24 / 45) == state.oswestry[0].value  # 9 sections answered
    profile = Profile.of(baseline)
    for number, proposal in propose_plan(P, state).items():
        for item in proposal.items:
            assert not conflicts(item.exercise, profile), (number, item.exercise.key)
    stage_1 = [i.exercise.key for i in propose_plan(P, state)[1].items]
    assert "knee-to-chest" not in stage_1 and any(
        P.exercise(k).direction is Direction.EXTENSION for k in stage_1
    )


def test_a_plain_service_request_search_lists_every_exercise_with_dose_and_instructions(fhir, assessed):
    state = read_patient_record(fhir, assessed).state(P)
    plan = _tailored(state)
    result = svc.start_program(fhir, P, assessed, ACTOR, plan=plan)
    # A reader that knows nothing of the app: plain search by patient, no _include, no definitions.
    found = fhir.search_all("ServiceRequest", {"patient": assessed})
    assert len(found) == sum(len(items) for items in plan.values())
    for request in found:
        assert request["intent"] == "order" and request["code"]["coding"][0]["code"] == "229065009"
        assert request["code"]["text"] and request["patientInstruction"].startswith(request["code"]["text"])
        repeat = request["occurrenceTiming"]["repeat"]
        assert (
            repeat["frequency"] >= 1
            and request["occurrenceTiming"]["code"]["text"] in request["patientInstruction"]
        )
        assert request["basedOn"][0]["reference"] == f"CarePlan/{result.state.careplan_id}"
        assert schema_errors(request) == []
    by_name = {r["code"]["text"]: r for r in found}
    assert (
        "4 repetitions each side, hold 20 seconds, once a day"
        in by_name["Buttock stretch lying down"]["patientInstruction"]
    )
    assert "Slowly, in the morning." in by_name["Cat-camel"]["patientInstruction"]
    statuses = {r["status"] for r in found}
    assert statuses == {"active", "draft"}
    # every resource the patient now has validates against the R4 schema
    record = read_patient_record(fhir, assessed)
    for resource in record.resources:
        assert schema_errors(resource) == [], resource["resourceType"]
    # the app rebuilds exactly what it wrote
    state = record.state(P)
    stage_2 = state.stages[1]
    assert [p.exercise.key for p in stage_2.prescriptions] == [i.exercise.key for i in plan[2]]
    assert stage_2.prescriptions[1].dosage == plan[2][1].dosage
    assert stage_2.prescriptions[3].note == "Slowly, in the morning."
    assert stage_2.exercises[1].dosage.describe().startswith("4 repetitions")


def test_changes_go_through_if_match_and_follow_the_stage(fhir, assessed):
    start = svc.start_program(fhir, P, assessed, ACTOR)
    state = start.state
    stage_1 = state.stages[0]
    items = list(stage_1.prescriptions)
    removed = items.pop(0)
    items[0] = Prescribed(
        items[0].exercise,
        Dosage(reps=5, hold_seconds=30, times_per_day=2),
        request_id=items[0].request_id,
        version=items[0].version,
    )
    items.append(Prescribed(P.exercise("relaxed-breathing"), P.exercise("relaxed-breathing").dosage))
    seen = {1: stage_1.version}
    write = update_plan(fhir, P, assessed, {1: items}, ACTOR, "edit-1", seen=seen)
    assert any(r.startswith("Provenance/") for r in write.refs)
    after = read_patient_record(fhir, assessed).state(P).stages[0]
    assert [p.exercise.key for p in after.prescriptions] == [i.exercise.key for i in items]
    assert after.prescriptions[0].dosage.reps == 5
    assert fhir.read("ServiceRequest", removed.request_id)["status"] == "revoked"
    # the same stale form again: refused as a whole
    with pytest.raises(StaleVersion):
        update_plan(fhir, P, assessed, {1: items[:1] + items[2:]}, ACTOR, "edit-2", seen=seen)
    # completing stage 1 completes its exercises and hands over stage 2's
    fresh = read_patient_record(fhir, assessed).state(P)
    svc.complete_stage(fhir, P, assessed, fresh.stages[0].task_id, ACTOR, early_reason="Tailoring test")
    done = read_patient_record(fhir, assessed).state(P)
    assert {p.status for p in done.stages[0].prescriptions} == {"completed"}
    assert {p.status for p in done.stages[1].prescriptions} == {"active"}


def test_a_conflict_must_be_confirmed_and_the_confirmation_is_recorded(fhir, assessed):
    state = read_patient_record(fhir, assessed).state(P)
    plan = {n: list(p.items) for n, p in propose_plan(P, state).items()}
    risky = P.exercise("knee-to-chest")  # flexion, and best avoided with osteoporosis
    plan[1][0] = Prescribed(risky, risky.dosage)
    with pytest.raises(ProgramRefused, match="Confirm"):
        svc.start_program(fhir, P, assessed, ACTOR, plan=plan)
    words = conflicts(risky, Profile.of(state.latest_assessment))
    plan[1][0] = Prescribed(risky, risky.dosage, confirmed=words)
    started = svc.start_program(fhir, P, assessed, ACTOR, plan=plan)
    item = next(p for p in started.state.stages[0].prescriptions if p.exercise.key == "knee-to-chest")
    assert item.confirmed == words
    request = fhir.read("ServiceRequest", item.request_id)
    assert any(w in n["text"] for n in request["note"] for w in words)
