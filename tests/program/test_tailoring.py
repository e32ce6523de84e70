"""Tailoring rules and the assessment's rules, pure."""

import pytest

from fhir_rehab.program.assessment import (
    Assessment,
    AssessmentError,
    SideFindings,
    odi_percent,
    slr_improvement,
)
from fhir_rehab.program.model import Direction, Dosage, Precaution
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as P
from fhir_rehab.program.tailoring import Prescribed, Profile, conflicts, propose_stage, unconfirmed

STENOSIS = Profile(Direction.FLEXION, frozenset({Precaution.STENOSIS}))
EXT_OSTEO = Profile(Direction.EXTENSION, frozenset({Precaution.OSTEOPOROSIS}))


def test_a_stenosis_patient_is_not_given_prone_press_ups():
    stage_2 = propose_stage(P, P.stage(2), STENOSIS)
    keys = [i.exercise.key for i in stage_2.items]
    assert "prone-press-up" not in keys
    assert any(P.exercise(k).direction is Direction.FLEXION for k in keys)
    assert "Prone press-ups replaced by" in stage_2.changes[0]


def test_extension_preference_and_osteoporosis_choose_extension_biased_safe_defaults():
    for stage in P.stages:
        proposal = propose_stage(P, stage, EXT_OSTEO)
        for item in proposal.items:
            assert not conflicts(item.exercise, EXT_OSTEO), item.exercise.key
    stage_1 = [i.exercise for i in propose_stage(P, P.stage(1), EXT_OSTEO).items]
    assert any(e.direction is Direction.EXTENSION for e in stage_1)


def test_no_assessment_keeps_the_standard_set():
    assert [i.exercise for i in propose_stage(P, P.stage(2), Profile()).items] == list(P.stage(2).exercises)


def test_unconfirmed_conflicts_are_listed_until_confirmed():
    risky = P.exercise("prone-press-up")
    item = Prescribed(risky, risky.dosage)
    [(found, words)] = unconfirmed([item], STENOSIS)
    assert found is item and len(words) == 2
    assert unconfirmed([Prescribed(risky, risky.dosage, confirmed=words)], STENOSIS) == []


def test_the_patient_reads_dose_side_care_and_note():
    ex = P.exercise("hamstring-stretch")
    words = Prescribed(
        ex, Dosage(reps=2, hold_seconds=30), side="left", note="After your walk."
    ).patient_instruction()
    assert "2 repetitions, hold 30 seconds" in words and "Left side only." in words
    assert "pins and needles" in words and words.endswith("From your physiotherapist: After your walk.")


@pytest.mark.parametrize("side,note", [("middle", ""), ("both", "x" * 301)])
def test_bad_side_or_overlong_note_is_refused(side, note):
    with pytest.raises(ValueError):
        Prescribed(P.exercise("cat-camel"), P.exercise("cat-camel").dosage, side=side, note=note)


def test_oswestry_rule_for_unanswered_sections():
    assert odi_percent([1, 2, 3, 4, 5, 0, 1, 2, 3, 4]) == 50
    assert odi_percent([5] * 8 + [None, None]) == 100
    assert odi_percent([5] * 7 + [None] * 3) is None


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({}, "leg_pain"),
        ({"leg_pain": 11}, "leg_pain"),
        ({"leg_pain": 3, "odi_sections": (6,) + (None,) * 9}, "odi_1"),
        ({"leg_pain": 3, "odi_total": 30, "odi_sections": (1,) + (None,) * 9}, "odi_total"),
        ({"leg_pain": 3, "left": SideFindings(slr_angle=130)}, "left_slr_angle"),
        ({"back_pain": 3, "right": SideFindings(knee_reflex="brisk")}, "right_knee_reflex"),
    ],
)
def test_assessment_refuses_bad_input_and_names_the_field(kwargs, field):
    with pytest.raises(AssessmentError) as err:
        Assessment(**kwargs)
    assert err.value.field == field


def test_straight_leg_raise_improvement():
    base = Assessment(leg_pain=6, left=SideFindings(slr_angle=40, slr_leg_pain=True))
    assert (
        slr_improvement(base, Assessment(leg_pain=5, left=SideFindings(slr_angle=45, slr_leg_pain=True)), 10)[
            0
        ]
        is False
    )
    assert slr_improvement(
        base, Assessment(leg_pain=5, left=SideFindings(slr_angle=45, slr_leg_pain=False)), 10
    )[0]
    assert slr_improvement(base, Assessment(leg_pain=5), 10) == (
        False,
        "no straight-leg raise recorded at both assessments",
    )
