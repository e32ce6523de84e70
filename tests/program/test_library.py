"""The exercise library: size, variants, doses whose schedule agrees with the words, safe wording."""

import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.library import LIBRARY, NERVE_STOP
from fhir_rehab.program.model import Direction, Dosage, Precaution
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM

BY_KEY = {e.key: e for e in LIBRARY}


def test_at_least_forty_exercises_across_every_stage():
    assert len(LIBRARY) >= 40
    assert len(BY_KEY) == len(LIBRARY), "keys are unique"
    for stage in SCIATICA_PROGRAM.stages:
        offered = SCIATICA_PROGRAM.exercises_for(stage.number)
        assert len(offered) >= 5, stage.number
        assert all(e.key in BY_KEY for e in stage.exercises), "stage defaults come from the library"
        assert all(stage.number in e.stages for e in stage.exercises)


def test_flexion_extension_and_neutral_variants_exist_for_the_early_stages():
    for number in (1, 2):
        directions = {
            e.direction for e in SCIATICA_PROGRAM.exercises_for(number) if e.slot == "spinal-mobility"
        }
        assert {Direction.FLEXION, Direction.EXTENSION} <= directions, number
        assert any(e.direction is Direction.NEUTRAL for e in SCIATICA_PROGRAM.exercises_for(number))


def test_regressions_and_progressions_point_to_easier_and_harder_library_exercises():
    linked = 0
    for exercise in LIBRARY:
        if exercise.regression:
            assert BY_KEY[exercise.regression].level <= exercise.level, exercise.key
            linked += 1
        if exercise.progression:
            assert BY_KEY[exercise.progression].level >= exercise.level, exercise.key
            linked += 1
    assert linked >= 40


@pytest.mark.parametrize("exercise", LIBRARY, ids=lambda e: e.key)
def test_every_exercise_is_complete_and_in_plain_words(exercise):
    assert len(exercise.instructions) > 40
    assert "as in stage" not in exercise.instructions.lower()
    assert exercise.slot and exercise.stages and 1 <= exercise.level <= 3
    assert isinstance(exercise.equipment, tuple)
    assert exercise.dosage.describe()
    for word in ("flexion", "extension", "lumbar", "piriformis", "myotome"):
        assert word not in exercise.instructions.lower(), f"{exercise.key}: jargon {word!r}"


def test_nerve_tension_exercises_name_pins_and_needles_as_a_stop_sign():
    nerve = [e for e in LIBRARY if e.nerve_tension]
    assert len(nerve) >= 4
    for exercise in nerve:
        assert exercise.caution == NERVE_STOP
        assert "pins and needles" in exercise.caution and "numbness" in exercise.caution
    assert not any("mild stretch is fine" in e.caution for e in LIBRARY)


def test_loaded_strength_work_is_two_or_three_days_a_week():
    loaded = [e for e in LIBRARY if e.code == c.APP_STRENGTHENING_EXERCISE and e.level >= 2]
    assert loaded
    assert all(e.dosage.days_per_week <= 3 for e in loaded), [
        e.key for e in loaded if e.dosage.days_per_week > 3
    ]


def test_precaution_tags_rule_out_the_risky_ones():
    assert Precaution.STENOSIS in BY_KEY["prone-press-up"].avoid
    assert Precaution.OSTEOPOROSIS in BY_KEY["knee-to-chest"].avoid
    assert Precaution.PREGNANCY in BY_KEY["prone-lying"].avoid
    tagged = {p for e in LIBRARY for p in e.avoid}
    assert tagged == set(Precaution)


def test_warmth_advice_warns_about_numb_skin_and_numbness_is_told_apart():
    education = " ".join(p for s in SCIATICA_PROGRAM.stages for p in s.education)
    assert "warm" in education and "numb" in education and "burn" in education
    stage_1 = " ".join(SCIATICA_PROGRAM.stage(1).education)
    assert "common with sciatica" in stage_1 and "new or spreading" in stage_1


def test_posture_advice_agrees_with_the_twisting_drills():
    stage_4 = SCIATICA_PROGRAM.stage(4)
    advice = " ".join(stage_4.education)
    assert "rather than twisting" not in advice and "twist" in advice
    assert any(e.slot == "rotation" for e in SCIATICA_PROGRAM.exercises_for(4))


def test_stage_five_has_its_own_instructions():
    for exercise in SCIATICA_PROGRAM.stage(5).exercises:
        assert "as in stage" not in exercise.instructions.lower()


@pytest.mark.parametrize(
    "bad",
    [{"sets": 0, "reps": 5}, {"reps": 10, "days_per_week": 8}, {"times_per_day": 0, "reps": 1}, {}],
)
def test_a_dose_that_makes_no_sense_is_refused(bad):
    with pytest.raises(ValueError):
        Dosage(**bad)
