from datetime import UTC, datetime, timedelta

import pytest

from fhir_rehab.program.redflags import (
    CURRENT_SCREEN,
    ESCALATIONS,
    PRIORITY_ORDER,
    RED_FLAG_KEYS,
    RED_FLAGS,
    SCREEN_V1,
    IncompleteScreen,
    Level,
    ScreenStatus,
    ScreenSummary,
    escalation_for,
    screen_red_flags,
)

ALL_ABSENT = {key: False for key in RED_FLAG_KEYS}
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_version_1_keeps_its_seven_stable_keys():
    assert SCREEN_V1.keys == (
        "leg-weakness",
        "leg-numbness",
        "bladder-bowel",
        "saddle-anaesthesia",
        "bilateral-symptoms",
        "worsening-pain",
        "trauma",
    )


def test_current_screen_asks_the_national_cauda_equina_signs_and_serious_pathology():
    assert CURRENT_SCREEN.version == "2.0.0"
    cauda_equina = {"sexual-dysfunction", "toilet-sensation", "rectal-fullness"}
    serious = {
        "cancer-history",
        "weight-loss",
        "infection-risk",
        "long-term-steroids",
        "age-at-onset",
        "night-pain",
    }
    assert set(SCREEN_V1.keys) | cauda_equina | serious == set(RED_FLAG_KEYS)
    assert len(RED_FLAG_KEYS) == len(set(RED_FLAG_KEYS)) == 16


def test_every_question_has_patient_wording_a_label_and_advice():
    for flag in RED_FLAGS:
        assert flag.question.endswith("?") and "you" in flag.question.lower()
        assert flag.label and flag.advice and flag.group
        assert not flag.warning or flag.warning.startswith(("you ", "your ", "it "))


@pytest.mark.parametrize(
    "level,priority,hours,patient_words",
    [
        (Level.EMERGENCY, "stat", 1, "Go to the emergency department now"),
        (Level.SAME_DAY, "asap", 4, "see a doctor today"),
        (Level.WITHIN_DAYS, "urgent", 72, "within the next 3 days"),
    ],
)
def test_each_level_has_advice_priority_and_due_that_agree(level, priority, hours, patient_words):
    escalation = ESCALATIONS[level]
    assert escalation.priority == priority
    assert escalation.due == timedelta(hours=hours)
    assert patient_words in escalation.patient_advice
    assert escalation.clinician_advice


def test_more_urgent_levels_have_higher_fhir_priorities_and_earlier_due_times():
    ordered = [ESCALATIONS[level] for level in (Level.EMERGENCY, Level.SAME_DAY, Level.WITHIN_DAYS)]
    ranks = [PRIORITY_ORDER.index(e.priority) for e in ordered]
    assert ranks == sorted(ranks, reverse=True)
    assert [e.due for e in ordered] == sorted(e.due for e in ordered)


def test_leg_weakness_is_same_day_and_its_review_is_due_within_hours_not_a_day():
    escalation = screen_red_flags({**ALL_ABSENT, "leg-weakness": True}).escalation
    assert escalation.level is Level.SAME_DAY and "today" in escalation.patient_advice
    assert escalation.due <= timedelta(hours=4)


def test_all_absent_is_clear():
    outcome = screen_red_flags(ALL_ABSENT)
    assert not outcome.positive
    assert outcome.level is None and outcome.escalation is None
    assert outcome.answers == ALL_ABSENT


@pytest.mark.parametrize(
    "key,level",
    [
        ("bladder-bowel", Level.EMERGENCY),
        ("saddle-anaesthesia", Level.EMERGENCY),
        ("bilateral-symptoms", Level.EMERGENCY),
        ("sexual-dysfunction", Level.EMERGENCY),
        ("toilet-sensation", Level.EMERGENCY),
        ("rectal-fullness", Level.EMERGENCY),
        ("leg-weakness", Level.SAME_DAY),
        ("leg-numbness", Level.SAME_DAY),
        ("worsening-pain", Level.SAME_DAY),
        ("trauma", Level.SAME_DAY),
        ("cancer-history", Level.WITHIN_DAYS),
        ("weight-loss", Level.WITHIN_DAYS),
        ("infection-risk", Level.WITHIN_DAYS),
        ("long-term-steroids", Level.WITHIN_DAYS),
        ("age-at-onset", Level.WITHIN_DAYS),
        ("night-pain", Level.WITHIN_DAYS),
    ],
)
def test_any_single_positive_escalates_at_its_level(key, level):
    outcome = screen_red_flags({**ALL_ABSENT, key: True})
    assert outcome.positive
    assert [f.key for f in outcome.positives] == [key]
    assert outcome.level is level
    assert escalation_for([key]).level is level


def test_the_most_urgent_level_wins():
    outcome = screen_red_flags(
        {**ALL_ABSENT, "trauma": True, "saddle-anaesthesia": True, "cancer-history": True}
    )
    assert outcome.level is Level.EMERGENCY
    assert escalation_for(["cancer-history", "trauma"]).level is Level.SAME_DAY


@pytest.mark.parametrize(
    "answers,message",
    [
        ({}, "Unanswered"),
        ({k: False for k in RED_FLAG_KEYS[:-1]}, RED_FLAG_KEYS[-1]),
        ({**ALL_ABSENT, "headache": True}, "Unknown red-flag questions: headache"),
    ],
)
def test_incomplete_or_unknown_answers_are_refused(answers, message):
    with pytest.raises(IncompleteScreen, match=message):
        screen_red_flags(answers)


def test_old_version_answers_still_screen():
    outcome = screen_red_flags({k: k == "trauma" for k in SCREEN_V1.keys}, SCREEN_V1)
    assert outcome.level is Level.SAME_DAY


# -- reading back, fail closed ------------------------------------------------------------------
def summary(answers, **kw):
    return ScreenSummary("p1", NOW, answers, **{"version": CURRENT_SCREEN, **kw})


def test_a_complete_negative_screen_is_clear():
    assert summary(dict(ALL_ABSENT)).status is ScreenStatus.CLEAR


def test_a_panel_marked_positive_is_positive_even_without_answers():
    screen = summary({}, marked_positive=True)
    assert screen.status is ScreenStatus.POSITIVE and not screen.clear
    assert screen.escalation.level is Level.EMERGENCY  # unreadable positive: most urgent


def test_fewer_answers_than_the_version_asked_is_incomplete_never_clear():
    answers = {k: False for k in RED_FLAG_KEYS[:7]}
    screen = summary(answers)
    assert screen.status is ScreenStatus.INCOMPLETE and not screen.clear
    assert "9 of 16 answers are missing" in screen.problems()


def test_unreadable_answers_or_a_missing_result_or_unknown_version_are_incomplete():
    assert summary(dict(ALL_ABSENT), unreadable=("an answer could not be read",)).status == "incomplete"
    assert summary(dict(ALL_ABSENT), marked_positive=None).status == "incomplete"
    assert summary(dict(ALL_ABSENT), version=None).status == "incomplete"


def test_a_present_answer_under_a_negative_panel_is_positive():
    screen = summary({**ALL_ABSENT, "trauma": True}, marked_positive=False)
    assert screen.status is ScreenStatus.POSITIVE
