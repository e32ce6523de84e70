"""The parsers rebuild the whole program state from what the server returned."""

import random

from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.state import parse_conditions, parse_program_state
from fhir_rehab.resources.wire import parse_model


def resources_of(bundle):
    return [e["resource"] for e in bundle["entry"]]


def test_every_sample_resource_parses_through_the_r4b_models(program_bundle):
    for resource in resources_of(program_bundle):
        parse_model(resource)


def test_program_state_after_stage_one(program_bundle):
    resources = resources_of(program_bundle)
    patient = resources[0]["id"]
    state = parse_program_state(SCIATICA_PROGRAM, patient, resources)
    assert state.started and state.careplan_status == "active"
    assert [s.status for s in state.stages] == ["completed", "ready", "draft", "draft", "draft"]
    assert state.current.stage.number == 2
    assert [e.key for e in state.current.exercises] == [e.key for e in SCIATICA_PROGRAM.stage(2).exercises]
    assert state.latest_screen and not state.latest_screen.positive
    assert len(state.latest_screen.answers) == 7
    assert state.latest_pain.value == 5
    assert state.condition_id


def test_order_does_not_matter(program_bundle):
    resources = resources_of(program_bundle)
    shuffled = resources[:]
    random.Random(4).shuffle(shuffled)
    a = parse_program_state(SCIATICA_PROGRAM, resources[0]["id"], resources)
    b = parse_program_state(SCIATICA_PROGRAM, resources[0]["id"], shuffled)
    assert a == b


def test_no_program_yet(program_bundle):
    resources = [r for r in resources_of(program_bundle) if r["resourceType"] in {"Patient", "Condition"}]
    state = parse_program_state(SCIATICA_PROGRAM, resources[0]["id"], resources)
    assert not state.started and state.current is None and state.stages == ()


def test_conditions(program_bundle):
    facts = parse_conditions(resources_of(program_bundle))
    assert len(facts) == 1
    assert facts[0].codings[0].code == "M54.41"
    assert facts[0].clinical_status == "active"
