import pytest

from fhir_rehab.program.redflags import (
    RED_FLAG_KEYS,
    RED_FLAGS,
    IncompleteScreen,
    Urgency,
    screen_red_flags,
)

ALL_ABSENT = {key: False for key in RED_FLAG_KEYS}


def test_the_seven_stable_keys():
    assert RED_FLAG_KEYS == (
        "leg-weakness",
        "leg-numbness",
        "bladder-bowel",
        "saddle-anaesthesia",
        "bilateral-symptoms",
        "worsening-pain",
        "trauma",
    )


def test_every_question_has_wording_and_advice():
    for flag in RED_FLAGS:
        assert flag.question.endswith("?")
        assert len(flag.advice) > 20
        assert flag.warning.startswith(("you ", "your "))


def test_all_absent_is_clear():
    outcome = screen_red_flags(ALL_ABSENT)
    assert not outcome.positive
    assert outcome.urgency is None
    assert outcome.answers == ALL_ABSENT


@pytest.mark.parametrize(
    "key,urgency",
    [
        ("bladder-bowel", Urgency.EMERGENCY),
        ("saddle-anaesthesia", Urgency.EMERGENCY),
        ("bilateral-symptoms", Urgency.EMERGENCY),
        ("leg-weakness", Urgency.URGENT),
        ("leg-numbness", Urgency.URGENT),
        ("worsening-pain", Urgency.URGENT),
        ("trauma", Urgency.URGENT),
    ],
)
def test_any_single_positive_escalates(key, urgency):
    outcome = screen_red_flags({**ALL_ABSENT, key: True})
    assert outcome.positive
    assert [f.key for f in outcome.positives] == [key]
    assert outcome.urgency is urgency


def test_emergency_wins_over_urgent():
    outcome = screen_red_flags({**ALL_ABSENT, "trauma": True, "saddle-anaesthesia": True})
    assert outcome.urgency is Urgency.EMERGENCY


@pytest.mark.parametrize(
    "answers,message",
    [
        ({}, "Unanswered"),
        ({k: False for k in RED_FLAG_KEYS[:-1]}, "trauma"),
        ({**ALL_ABSENT, "headache": True}, "Unknown red-flag questions: headache"),
    ],
)
def test_incomplete_or_unknown_answers_are_refused(answers, message):
    with pytest.raises(IncompleteScreen, match=message):
        screen_red_flags(answers)
