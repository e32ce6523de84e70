from datetime import UTC, datetime, timedelta

import pytest

from fhir_rehab.program.lifecycle import IllegalTransition, check_transition
from fhir_rehab.program.progression import Score, check_progression
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM, STAGE_1

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "current,target",
    [
        ("draft", "ready"),
        ("ready", "in-progress"),
        ("in-progress", "completed"),
        ("in-progress", "on-hold"),
        ("on-hold", "in-progress"),
        ("ready", "cancelled"),
        ("requested", "accepted"),
    ],
)
def test_allowed(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(
    "current,target",
    [
        ("completed", "in-progress"),
        ("cancelled", "ready"),
        ("draft", "completed"),
        ("ready", "completed"),
        ("failed", "in-progress"),
        ("bogus", "ready"),
    ],
)
def test_refused_with_reason(current, target):
    with pytest.raises(IllegalTransition, match="cannot become|Unknown task status"):
        check_transition(current, target)


def test_program_shape():
    assert [s.number for s in SCIATICA_PROGRAM.stages] == [1, 2, 3, 4, 5]
    for stage in SCIATICA_PROGRAM.stages:
        assert len(stage.exercises) >= 3
        assert stage.goals and stage.education and stage.progression.describe()
        for exercise in stage.exercises:
            assert exercise.dosage.describe()
    assert SCIATICA_PROGRAM.canonical.endswith("|1.1.0")
    keys = [e.key for s in SCIATICA_PROGRAM.stages for e in s.exercises]
    assert len(keys) == len(set(keys)), "exercise keys must be unique"


def pain(*values, start=NOW - timedelta(days=10)):
    return [Score(v, start + timedelta(days=i)) for i, v in enumerate(values)]


def test_progression_met():
    check = check_progression(STAGE_1, pain(7, 5, 4), NOW - timedelta(days=10), NOW)
    assert check.ready
    assert len(check.met) == 2


def test_progression_not_met_says_why():
    started = NOW - timedelta(days=3)
    check = check_progression(STAGE_1, pain(8, 7, start=started), started, NOW)
    assert not check.ready
    assert "latest: 8, 7" in check.unmet[0]
    assert "(3 so far)" in check.unmet[1]


def test_scores_before_the_stage_do_not_count():
    started = NOW - timedelta(days=8)
    check = check_progression(STAGE_1, pain(2, 2, start=NOW - timedelta(days=30)), started, NOW)
    assert "only 0 recorded" in check.unmet[0]


def test_stage_three_needs_a_function_gain_on_the_oswestry_score():
    from fhir_rehab.program.sciatica import STAGE_3

    started = NOW - timedelta(days=30)
    low_pain = pain(3, 2, start=started)
    odi = [Score(48, NOW - timedelta(days=60)), Score(40, NOW - timedelta(days=1))]
    check = check_progression(STAGE_3, low_pain, started, NOW, odi)
    assert not check.ready
    assert "(48 -> 40)" in " ".join(check.unmet)
    better = [*odi, Score(36, NOW)]
    assert check_progression(STAGE_3, low_pain, started, NOW, better).ready
    only_baseline = check_progression(STAGE_3, low_pain, started, NOW, odi[:1])
    assert "needs a baseline and a new score" in " ".join(only_baseline.unmet)
