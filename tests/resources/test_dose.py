"""A dose on the wire: the structured schedule says what the words say, and reads back the same."""

import pytest

from fhir_rehab.program.model import Dosage
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.definitions import build_definitions
from fhir_rehab.resources.dose import build_dose_extension, build_timing, parse_dose
from fhir_rehab.resources.wire import to_wire
from tests.support.schema import schema_errors

EXERCISES = SCIATICA_PROGRAM.all_exercises()


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.key)
def test_structured_timing_agrees_with_the_words(exercise):
    dosage = exercise.dosage
    timing = build_timing(dosage)
    repeat = timing["repeat"]
    words = timing["code"]["text"]
    assert words == dosage.describe()
    assert (
        repeat["frequency"] == dosage.times_per_day and repeat["period"] == 1 and repeat["periodUnit"] == "d"
    )
    if dosage.days_per_week == 7:
        assert "dayOfWeek" not in repeat and "every day" in words
    else:
        assert (
            len(repeat["dayOfWeek"]) == dosage.days_per_week
            and f"{dosage.days_per_week} days a week" in words
        )
    if dosage.minutes:
        assert repeat["duration"] == dosage.minutes and f"{dosage.minutes} minute" in words
    assert parse_dose(timing, [build_dose_extension(dosage)]) == (dosage, None)


def test_side_round_trips():
    dosage = Dosage(sets=2, reps=8, each_side=False, days_per_week=3)
    timing = build_timing(dosage)
    assert parse_dose(timing, [build_dose_extension(dosage, "left")]) == (dosage, "left")


def test_a_schedule_the_app_does_not_write_is_refused():
    with pytest.raises(ValueError):
        parse_dose({"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}, [])


def test_every_library_exercise_is_published_as_a_valid_activity_definition():
    exercise_defs = [r for r in build_definitions(SCIATICA_PROGRAM) if "/exercise-" in r.get("url", "")]
    assert len(exercise_defs) == len(EXERCISES) >= 40
    for resource in exercise_defs:
        assert schema_errors(to_wire(resource)) == [], resource["url"]
