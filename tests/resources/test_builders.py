"""Every resource the app builds validates against the official R4 JSON Schema and the models."""

import re
from datetime import UTC, datetime

import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import RED_FLAG_KEYS, RED_FLAGS, screen_red_flags
from fhir_rehab.program.review import OUTCOMES
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.bundle import Transaction, _parse_location
from fhir_rehab.resources.careplan import (
    build_care_plan,
    build_stage_goal,
    build_stage_task,
    episode_key,
    plan_windows,
)
from fhir_rehab.resources.codecheck import check_codes
from fhir_rehab.resources.definitions import build_definitions
from fhir_rehab.resources.errors import InvalidCode, InvalidResource
from fhir_rehab.resources.observations import (
    build_oswestry_score,
    build_pain_score,
    build_red_flag_answer,
    build_red_flag_panel,
    build_screen_response,
)
from fhir_rehab.resources.provenance import Actor, build_provenance
from fhir_rehab.resources.questionnaire import build_screen_questionnaire
from fhir_rehab.resources.review import build_review_outcome, record_review_on_task
from fhir_rehab.resources.tasks import (
    build_follow_up,
    build_review_task,
    change_task_status,
    close_follow_up,
    hold_for_red_flag,
    lift_red_flag_hold,
    mark_completed_early,
)
from fhir_rehab.resources.wire import model_check, to_wire
from tests.support.schema import schema_errors

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ACTOR = Actor("Practitioner/p1", "Dr Pat Physio")


def program_resources():
    episode = episode_key(SCIATICA_PROGRAM, "pat1", "cond1")
    windows = plan_windows(SCIATICA_PROGRAM, NOW)
    goals = [build_stage_goal(SCIATICA_PROGRAM, w, episode, "pat1", "cond1", NOW) for w in windows]
    tasks = [
        build_stage_task(SCIATICA_PROGRAM, w, episode, "pat1", "cond1", "CarePlan/cp1", ACTOR, NOW)
        for w in windows
    ]
    plan = build_care_plan(
        SCIATICA_PROGRAM, episode, "pat1", "cond1", ACTOR, NOW, ["Goal/g1"], ["Task/t1"], "Observation/o1"
    )
    return [plan, *tasks, *goals]


def screen_resources(present=()):
    answers = {k: k in present for k in RED_FLAG_KEYS}
    outcome = screen_red_flags(answers)
    members = [build_red_flag_answer(f, answers[f.key], "pat1", ACTOR, NOW, f"s.{f.key}") for f in RED_FLAGS]
    panel = build_red_flag_panel(
        ["Observation/a"], outcome.positive, "pat1", ACTOR, NOW, "s", response_ref="QuestionnaireResponse/q"
    )
    out = [*members, panel, build_screen_response(outcome, "pat1", ACTOR, NOW, "s.response")]
    if outcome.positive:
        out.append(build_review_task(outcome, "pat1", "Observation/p", ACTOR, NOW, "s.review", "cp1"))
    return out


def every_built_resource():
    stage_task = program_resources()[1]
    return [
        *build_definitions(SCIATICA_PROGRAM),
        build_screen_questionnaire(),
        *program_resources(),
        *screen_resources(),
        *screen_resources(present=("bladder-bowel", "trauma")),
        build_pain_score(4, "pat1", ACTOR, NOW, "k", "cp1"),
        build_oswestry_score(38, "pat1", ACTOR, NOW, "k2"),
        build_provenance(
            ["CarePlan/cp1", "Task/t1"], ACTOR, NOW, activity=c.OPERATION_CREATE, write_key="k3"
        ),
        build_provenance(["Task/t1"], Actor(), NOW, activity=c.OPERATION_UPDATE, write_key="k4"),
        change_task_status(stage_task, "in-progress", NOW),
        change_task_status(
            change_task_status(stage_task, "in-progress", NOW),
            "on-hold",
            NOW,
            reason="Red flag",
            reason_code=c.APP_RED_FLAG_HOLD,
        ),
        hold_for_red_flag(stage_task, "Red flag present: Trauma", NOW),  # not started: stays ready
        *review_resources(),
        *follow_up_resources(),
        mark_completed_early(
            change_task_status(change_task_status(stage_task, "in-progress", NOW), "completed", NOW),
            "Pain settled",
            ACTOR,
            NOW,
        ),
    ]


def review_resources():
    """A recorded review: its outcome Observation and the review Task after each outcome."""
    outcome = screen_red_flags({k: k == "trauma" for k in RED_FLAG_KEYS})
    task = {**build_review_task(outcome, "pat1", "Observation/p", ACTOR, NOW, "s.review", "cp1"), "id": "r1"}
    out = []
    for rule in OUTCOMES.values():
        out.append(build_review_outcome(rule, "Seen.", "pat1", ACTOR, NOW, "r1", "Observation/p", "k"))
        out.append(record_review_on_task(task, rule, "Observation/o1", ACTOR, NOW))
    return out


def follow_up_resources():
    out = []
    for code in (c.APP_RESCREEN, c.APP_PROGRESS_REVIEW, c.APP_FOLLOW_UP):
        task = build_follow_up(code, "pain 9/10", "pat1", "cp1", ACTOR, NOW, f"k.{code.code}")
        out.append(task)
    out.append(close_follow_up(out[0], "Observation/p2", NOW))
    return out


@pytest.mark.parametrize("resource", every_built_resource(), ids=lambda r: f"{r['resourceType']}")
def test_every_built_resource_validates_against_the_r4_schema(resource):
    wire = to_wire(resource)
    assert schema_errors(wire) == []
    check_codes(wire)


@pytest.mark.parametrize("resource", every_built_resource(), ids=lambda r: f"{r['resourceType']}")
def test_without_the_model_check_the_same_valid_resource_is_sent(resource):
    """The CLI skips the R4B model pass (resources.wire.model_check): what it sends must be
    what the model pass sends, and valid against the R4 JSON Schema."""
    with model_check(False):
        plain = to_wire(resource)
    assert schema_errors(plain) == []
    assert same_instants(plain) == same_instants(to_wire(resource))  # the model writes 00.000+00:00 as 00Z


def same_instants(value):
    """Instants as datetimes (the same instant written two valid ways compares equal)."""
    if isinstance(value, dict):
        return {k: same_instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [same_instants(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def test_the_schema_check_can_fail():
    bad = {**build_pain_score(4, "pat1", ACTOR, NOW, "k"), "status": "done"}
    assert schema_errors(bad)


def test_plan_definition_sequences_stages_before_start():
    plan = build_definitions(SCIATICA_PROGRAM)[0]
    assert plan["type"]["coding"][0]["code"] == "clinical-protocol"
    actions = plan["action"]
    assert len(actions) == 5
    for action, following in zip(actions, actions[1:], strict=False):
        assert action["relatedAction"] == [{"actionId": following["id"], "relationship": "before-start"}]
    assert "relatedAction" not in actions[-1]


def test_care_plan_links_stages_by_activity_reference_not_detail():
    plan = program_resources()[0]
    assert plan["status"] == "active" and plan["intent"] == "plan"
    assert plan["instantiatesCanonical"] == [SCIATICA_PROGRAM.canonical]
    assert all("reference" in a and "detail" not in a for a in plan["activity"])


def test_stage_one_ready_later_stages_draft():
    tasks = program_resources()[1:6]
    assert [t["status"] for t in tasks] == ["ready", "draft", "draft", "draft", "draft"]
    assert all(t["restriction"]["period"]["start"] < t["restriction"]["period"]["end"] for t in tasks)


def test_red_flag_answers_record_absent_too():
    members = screen_resources()[: len(RED_FLAGS)]
    assert {m["valueBoolean"] for m in members} == {False}


def test_a_denied_finding_never_reads_as_present_from_observation_code():
    """Observation.code of an answer is the question (our question code system), never a finding
    code such as SNOMED 713514005 Muscle weakness of limb; the answer is the yes/no value."""
    members = screen_resources()[: len(RED_FLAGS)]
    for member in members:
        systems = {cd["system"] for cd in member["code"]["coding"]}
        assert systems == {c.RED_FLAG_QUESTION}
        assert member["code"]["coding"][0]["display"].startswith("Asked:")


def test_the_questionnaire_response_answers_every_question_of_the_published_version():
    questionnaire = build_screen_questionnaire()
    response = screen_resources(present=("trauma",))[len(RED_FLAGS) + 1]
    assert response["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    assert [i["linkId"] for i in response["item"]] == [i["linkId"] for i in questionnaire["item"]]
    answered = {i["linkId"]: i["answer"][0]["valueBoolean"] for i in response["item"]}
    assert answered["trauma"] is True and sum(answered.values()) == 1
    assert all(i["type"] == "boolean" and i["required"] for i in questionnaire["item"])


@pytest.mark.parametrize(
    "present,priority,hours",
    [
        (("saddle-anaesthesia",), "stat", 1),
        (("leg-weakness",), "asap", 4),
        (("night-pain",), "urgent", 72),
        (("night-pain", "rectal-fullness"), "stat", 1),
    ],
)
def test_review_task_priority_and_due_follow_the_level(present, priority, hours):
    review = screen_resources(present=present)[-1]
    assert review["resourceType"] == "Task" and review["priority"] == priority
    period = review["restriction"]["period"]
    due = datetime.fromisoformat(period["end"]) - datetime.fromisoformat(period["start"])
    assert due.total_seconds() == hours * 3600


@pytest.mark.parametrize(
    "coding",
    [
        {"system": c.SNOMED, "code": "12345678"},  # not a code the app knows
        {"system": c.LOINC, "code": "72514-4"},  # mistyped LOINC
        {"system": c.APP_CODES, "code": "made-up"},
    ],
)
def test_unknown_codes_are_refused_before_sending(coding):
    obs = build_pain_score(4, "pat1", ACTOR, NOW, "k")
    obs["code"]["coding"] = [coding]
    with pytest.raises(InvalidCode):
        check_codes(obs)
    tx = Transaction()
    tx.create(obs)
    with pytest.raises(InvalidCode):
        tx.bundle()


def test_model_validation_rejects_malformed_resources():
    with pytest.raises(InvalidResource):
        to_wire({"resourceType": "Task", "status": "ready", "intent": "plan", "for": "Patient/1"})


@pytest.mark.parametrize("score", [-1, 11])
def test_pain_out_of_range(score):
    with pytest.raises(ValueError):
        build_pain_score(score, "pat1", ACTOR, NOW, "k")


def test_location_parsing():
    assert _parse_location("https://h/fhir/CarePlan/9/_history/1") == ("CarePlan", "9", "1")


def _stage(status: str, *, started: bool = False) -> dict:
    task = next(r for r in program_resources() if r["resourceType"] == "Task")
    task = {**task, "status": status}
    if started:
        task["executionPeriod"] = {"start": "2026-11-20T09:00:00Z"}
    return task


def _codes(concept_value: dict | None) -> list[str]:
    return [cd["code"] for cd in (concept_value or {}).get("coding") or []]


def test_a_red_flag_holds_only_a_stage_that_started():
    """R4 on-hold is "started, then paused": a stage under way goes on hold and back to
    in-progress; one not started stays ready, its business status saying why, and says "not
    started" again after the review; a later (draft) stage does not change at all."""
    under_way = hold_for_red_flag(_stage("in-progress", started=True), "Red flag present: Trauma", NOW)
    assert under_way["status"] == "on-hold" and _codes(under_way["businessStatus"]) == ["red-flag-review"]
    back = lift_red_flag_hold(under_way, NOW, first_open=True)
    assert back["status"] == "in-progress" and _codes(back["businessStatus"]) == ["in-progress"]
    assert "statusReason" not in back and back["executionPeriod"] == {"start": "2026-11-20T09:00:00Z"}

    waiting = hold_for_red_flag(_stage("ready"), "Red flag present: Trauma", NOW)
    assert waiting["status"] == "ready" and "executionPeriod" not in waiting
    assert _codes(waiting["businessStatus"]) == ["red-flag-review"]
    assert _codes(waiting["statusReason"]) == [c.APP_RED_FLAG_HOLD.code]
    assert schema_errors(waiting) == []
    lifted = lift_red_flag_hold(waiting, NOW, first_open=True)
    assert lifted["status"] == "ready" and _codes(lifted["businessStatus"]) == ["not-started"]
    assert "statusReason" not in lifted and "executionPeriod" not in lifted

    assert hold_for_red_flag(_stage("draft"), "Red flag present: Trauma", NOW) is None
    assert lift_red_flag_hold(_stage("draft"), NOW, first_open=False) is None


def test_an_old_hold_of_a_stage_never_started_is_undone_truthfully():
    """Older versions put never-started stages on hold: they go back to ready (the current
    stage) or draft (a later one), with a business status that says "not started"."""
    old = {**_stage("on-hold"), "businessStatus": {"coding": [c.BS_ON_HOLD.as_coding()]}}
    for first_open, status in ((True, "ready"), (False, "draft")):
        lifted = lift_red_flag_hold(old, NOW, first_open=first_open)
        assert lifted["status"] == status and _codes(lifted["businessStatus"]) == ["not-started"]
        assert "start" not in (lifted.get("executionPeriod") or {})
    stale = {**_stage("draft"), "businessStatus": {"coding": [c.BS_ON_HOLD.as_coding()]}}
    assert _codes(lift_red_flag_hold(stale, NOW, first_open=False)["businessStatus"]) == ["not-started"]


def test_every_follow_up_is_one_kind_with_its_reason_and_old_ones_still_read():
    """One Task code for every follow-up (after the urgent reviews on the worklist), the reason
    in reasonCode; Tasks written with the retired codes (the reason as Task.code) still read."""
    from fhir_rehab.resources.state import follow_up_code
    from fhir_rehab.resources.worklist import FOLLOW_UP_RANK, parse_row

    built = follow_up_resources()[:3]
    assert {t["code"]["coding"][0]["code"] for t in built} == {c.APP_FOLLOW_UP.code}
    assert [follow_up_code(t) for t in built] == [
        c.APP_RESCREEN.code,
        c.APP_PROGRESS_REVIEW.code,
        c.APP_FOLLOW_UP.code,
    ]
    assert [t["priority"] for t in built] == ["urgent", "routine", "routine"]
    rows = [parse_row(SCIATICA_PROGRAM, {**t, "id": f"t{n}"}, {}) for n, t in enumerate(built)]
    assert {(r.kind, r.rank) for r in rows} == {("follow-up", FOLLOW_UP_RANK)}
    assert [r.closes_itself for r in rows] == [True, True, False]
    retired = {
        "resourceType": "Task",
        "id": "old",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [c.APP_RESCREEN.as_coding()]},
        "identifier": [{"system": c.TASK_IDENTIFIER, "value": "k.rescreen"}],
    }
    old = parse_row(SCIATICA_PROGRAM, retired, {})
    assert follow_up_code(retired) == c.APP_RESCREEN.code
    assert old.kind == "follow-up" and old.closes_itself and old.rank == FOLLOW_UP_RANK
