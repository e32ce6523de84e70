"""The issue's "done when", end to end against the real local FHIR server, through the CLI."""

import threading

import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.errors import StaleVersion
from fhir_rehab.services.record import read_patient_record
from tests.support.schema import schema_errors

ALL_ABSENT = [arg for key in RED_FLAG_KEYS for arg in ("--absent", key)]


def resolve(fhir, reference):
    rtype, rid = reference.split("/")
    return fhir.read(rtype, rid)


def references_in(node):
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from references_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from references_in(item)


def test_screen_then_start_writes_a_valid_resolvable_program(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    code, out = cli("eligibility", "--patient", patient)
    assert code == 0 and out["eligible"] and out["code"] == "M54.41"

    code, screen = cli("screen", "--patient", patient, *ALL_ABSENT)
    assert code == 0 and screen["positive"] is False
    # The QuestionnaireResponse, one Observation per question, the panel, Provenance.
    assert len(screen["written"]) == len(RED_FLAG_KEYS) + 3
    assert screen["written"][0].startswith("QuestionnaireResponse/")

    code, start = cli("start", "--patient", patient)
    assert code == 0 and not start["alreadyStarted"]
    # The state comes from the transaction's own response (no read-back round trip).
    assert [s["status"] for s in start["state"]["stages"]] == ["ready", "draft", "draft", "draft", "draft"]
    assert start["state"]["latestScreen"]["positive"] == []
    written = start["written"]
    tasks = [r for r in written if r.startswith("Task/")]
    assert len(tasks) >= 4
    assert sum(r.startswith("CarePlan/") for r in written) == 1
    assert any(r.startswith("Provenance/") for r in written)

    # Every resource written resolves, validates against the R4 schema, and so does every
    # reference inside it (urn:uuid references were rewritten by the server).
    for ref in screen["written"] + written:
        resource = resolve(fhir, ref)
        assert schema_errors(resource) == [], ref
        for inner in references_in(resource):
            assert not inner.startswith("urn:uuid:"), (ref, inner)
            resolve(fhir, inner)

    code, again = cli("start", "--patient", patient)
    assert code == 0 and again["alreadyStarted"] and again["written"] == []
    assert again["carePlan"] == start["carePlan"]

    code, shown = cli("show", "--patient", patient)
    state = shown["state"]
    assert [s["status"] for s in state["stages"]] == ["ready", "draft", "draft", "draft", "draft"]
    assert state["currentStage"] == 1 and len(state["currentExercises"]) >= 3
    assert start["carePlan"] in shown["read"]


def test_start_refused_for_a_patient_without_sciatica(cli, fhir, seeded):
    patient = seeded["not-eligible"].patient_id
    cli("screen", "--patient", patient, *ALL_ABSENT)
    code, out = cli("start", "--patient", patient)
    assert code == 1
    assert "Not eligible" in out["error"] and out["written"] == []
    assert fhir.search_all("CarePlan", {"patient": patient}) == []
    assert fhir.search_all("Task", {"patient": patient}) == []


def test_refuted_condition_is_not_eligible(cli, seeded):
    code, out = cli("eligibility", "--patient", seeded["refuted"].patient_id)
    assert code == 1 and "ruled out" in out["reason"]


def test_start_refused_without_a_screen(cli, fhir, seeded):
    patient = seeded["eligible-snomed"].patient_id
    code, out = cli("start", "--patient", patient)
    assert code == 1 and "screen the patient first" in out["error"]
    assert fhir.search_all("CarePlan", {"patient": patient}) == []


def test_positive_screen_exit_3_and_urgent_review_task(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    absent = [a for k in RED_FLAG_KEYS if k != "bladder-bowel" for a in ("--absent", k)]
    code, out = cli("screen", "--patient", patient, "--present", "bladder-bowel", *absent)
    assert code == 3 and out["present"] == ["bladder-bowel"]
    task = resolve(fhir, out["reviewTask"])
    assert task["priority"] == "stat" and task["status"] == "requested"
    assert out["level"] == "emergency" and out["priority"] == "stat"
    code, start = cli("start", "--patient", patient)
    assert code == 1 and "emergency medical review" in start["error"]


def test_positive_screen_puts_a_running_program_on_hold(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    cli("screen", "--patient", patient, *ALL_ABSENT)
    cli("start", "--patient", patient)
    absent = [a for k in RED_FLAG_KEYS if k != "trauma" for a in ("--absent", k)]
    code, out = cli("screen", "--patient", patient, "--present", "trauma", *absent)
    assert code == 3
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert state.careplan_status == "on-hold"
    # R4 on-hold is "started, then paused": stage 1 was never started, so it stays ready (the
    # CarePlan and the review carry the hold, its business status says why); later stages stay draft
    assert [s.status for s in state.stages] == ["ready", "draft", "draft", "draft", "draft"]
    assert "Red flag present" in state.stages[0].status_reason
    assert state.stages[0].business_status == "red-flag-review" and state.stages[0].started is None
    assert {s.business_status for s in state.stages[1:]} == {"not-started"}
    assert state.review_task_ids and state.paused and state.current is state.stages[0]
    code, shown = cli("show", "--patient", patient)
    assert shown["state"]["paused"] is True and shown["state"]["carePlanStatus"] == "on-hold"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--absent", "trauma"], "Unanswered red-flag questions"),
        (["--present", "trauma", "--absent", "trauma"], "both present and absent"),
    ],
)
def test_incomplete_screen_is_a_usage_error_and_writes_nothing(cli, fhir, seeded, argv, message):
    patient = seeded["eligible-icd10"].patient_id
    code, out = cli("screen", "--patient", patient, *argv)
    assert code == 2 and message in out["error"]
    assert fhir.search_all("Observation", {"patient": patient}) == []


def test_unknown_patient(cli):
    code, out = cli("show", "--patient", "does-not-exist")
    assert code == 2 and "not found" in out["error"]


def test_resubmitted_screen_writes_nothing(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    first = cli("screen", "--patient", patient, *ALL_ABSENT, "--submission-id", "sub-1")[1]
    second = cli("screen", "--patient", patient, *ALL_ABSENT, "--submission-id", "sub-1")[1]
    assert len(first["written"]) == len(RED_FLAG_KEYS) + 3 and second["written"] == [] and second["repeated"]
    assert len(fhir.search_all("Observation", {"patient": patient})) == len(RED_FLAG_KEYS) + 1
    responses = fhir.search_all("QuestionnaireResponse", {"_count": "100"})
    assert (
        len([r for r in responses if (r.get("subject") or {}).get("reference") == f"Patient/{patient}"]) == 1
    )


def test_double_start_racing_makes_one_care_plan(cli, fhir, seeded, fhir_server):
    patient = seeded["eligible-snomed"].patient_id
    cli("screen", "--patient", patient, *ALL_ABSENT)
    results, barrier = [], threading.Barrier(2)

    def start():
        barrier.wait()
        results.append(svc.start_program(fhir, SCIATICA_PROGRAM, patient, Actor()))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert len(fhir.search_all("CarePlan", {"patient": patient})) == 1
    assert len(fhir.search_all("Task", {"patient": patient})) == len(SCIATICA_PROGRAM.stages)


def test_two_writers_racing_on_one_task_one_wins(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    cli("screen", "--patient", patient, *ALL_ABSENT)
    cli("start", "--patient", patient)
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    stage = state.current
    outcomes, barrier = [], threading.Barrier(2)

    def complete():
        barrier.wait()
        try:
            svc.complete_stage(
                fhir,
                SCIATICA_PROGRAM,
                patient,
                stage.task_id,
                Actor(),
                expected_version=stage.version,
                early_reason="test",
            )
            outcomes.append("won")
        except StaleVersion:
            outcomes.append("stale")
        except Exception as exc:  # the loser may also see the stage already completed
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1
    after = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert [s.status for s in after.stages][:2] == ["completed", "ready"]


def test_stage_completion_readies_the_next_in_one_transaction(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    cli("screen", "--patient", patient, *ALL_ABSENT)
    cli("start", "--patient", patient)
    cli("pain", "--patient", patient, "--score", "5")
    code, out = cli("complete-stage", "--patient", patient)
    assert code == 1 and "To complete the stage early, confirm it and give a reason" in out["error"]
    code, out = cli("complete-stage", "--patient", patient, "--early-reason", "Pain settled; back at work")
    assert code == 0 and out["next"]
    assert any("pain" in unmet for unmet in out["unmetCriteria"])
    task = fhir.read("Task", out["completed"].split("/")[1])
    assert task["businessStatus"]["coding"][0]["code"] == "completed-early"
    assert task["statusReason"]["text"] == "Completed early: Pain settled; back at work"
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert [s.status for s in state.stages][:3] == ["completed", "ready", "draft"]
    goals = [fhir.read("Goal", g) for g in state.goal_ids]
    assert sorted(g["lifecycleStatus"] for g in goals)[:2] == ["active", "completed"]
    plan = fhir.read("CarePlan", state.careplan_id)
    assert plan["activity"][0]["progress"][0]["text"].startswith("Stage 1")


def test_publish_definitions_is_idempotent_and_valid(cli, fhir):
    from fhir_rehab.services.publish import publishable

    expected = [f"{r['resourceType']}/{r['id']}" for r in publishable(SCIATICA_PROGRAM)]
    code, first = cli("publish")
    assert code == 0
    done = first["written"] + first["unchanged"]  # another test may have published already
    assert sorted(done) == sorted(expected)
    assert "Questionnaire/sciatica-red-flags-2.0.0" in expected  # the screen is published too
    code, second = cli("publish")
    assert code == 0 and second["written"] == [] and sorted(second["unchanged"]) == sorted(expected)
    plan = resolve(fhir, expected[0])
    assert plan["url"] == SCIATICA_PROGRAM.url and plan["version"] == SCIATICA_PROGRAM.version
    for ref in expected:
        assert schema_errors(resolve(fhir, ref)) == [], ref
    codes = resolve(fhir, next(r for r in expected if r.startswith("CodeSystem/sciatica-rehab")))
    assert {"saddle-anaesthesia", "bladder-bowel"} <= {x["code"] for x in codes["concept"]}
    assert codes["content"] == "complete" and codes["text"]["status"] == "generated"
    assert any(r.startswith("ValueSet/stage-business-status") for r in expected)


def test_publish_refuses_to_overwrite_a_version_with_other_content(cli, fhir):
    from fhir_rehab.services.publish import publishable

    cli("publish")
    published = next(r for r in publishable(SCIATICA_PROGRAM) if r.get("url") == c.BUSINESS_STATUS)
    code_system = fhir.read("CodeSystem", published["id"])
    changed = {**code_system, "concept": code_system["concept"][:-1], "count": code_system["count"] - 1}
    fhir.update(changed)
    try:
        code, out = cli("publish")
        assert code == 1 and "different content" in out["error"] and out["written"] == []
        assert fhir.read("CodeSystem", code_system["id"])["count"] == code_system["count"] - 1
    finally:
        fhir.update(code_system)


def test_compartment_client_refuses_another_patients_data(fhir_server, seeded):
    from fhir_rehab.fhir.compartment import PatientCompartmentClient, WrongPatientError

    mine, other = seeded["eligible-icd10"].patient_id, seeded["not-eligible"].patient_id
    guarded = PatientCompartmentClient(fhir_server.base_url, mine)
    assert read_patient_record(guarded, mine).patient["id"] == mine
    with pytest.raises(WrongPatientError):
        read_patient_record(guarded, other)
    with pytest.raises(WrongPatientError):
        guarded.read("Condition", seeded["not-eligible"].condition_id)


def test_oswestry_scores_are_recorded_and_read_back(cli, fhir, seeded, capsys):
    patient = seeded["eligible-snomed"].patient_id
    code, out = cli("oswestry", "--patient", patient, "--score", "46")
    assert code == 0 and out["written"][0].startswith("Observation/")
    obs = resolve(fhir, out["written"][0])
    assert obs["code"]["coding"][0]["code"] == "97909-6"
    assert obs["valueQuantity"]["value"] == 46 and "single public source" in obs["note"][0]["text"]
    state = read_patient_record(fhir, patient).state(SCIATICA_PROGRAM)
    assert [s.value for s in state.oswestry] == [46] and state.pain == ()
    from fhir_rehab.cli import main

    assert main(["oswestry", "--patient", patient, "--score", "101", "--fhir-base", "x"]) == 2


def test_practitioner_is_checked_before_anything_is_written(cli, fhir, seeded):
    patient = seeded["eligible-icd10"].patient_id
    code, out = cli("screen", "--patient", patient, *ALL_ABSENT, "--practitioner", "Practitioner/nobody-here")
    assert code == 1 and "Practitioner/nobody-here was not found" in out["error"] and out["written"] == []
    assert read_patient_record(fhir, patient).state(SCIATICA_PROGRAM).latest_screen is None

    person = fhir.create(
        {"resourceType": "Practitioner", "name": [{"given": ["Rae"], "family": "Physio"}]}
    ).body
    code, out = cli(
        "screen", "--patient", patient, *ALL_ABSENT, "--practitioner", f"Practitioner/{person['id']}"
    )
    assert code == 0
    provenance = next(r for r in out["written"] if r.startswith("Provenance/"))
    author = resolve(fhir, provenance)["agent"][0]["who"]
    assert author == {"reference": f"Practitioner/{person['id']}", "display": "Rae Physio"}
