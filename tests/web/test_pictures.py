"""Every library exercise has a picture the app draws: valid SVG, a floor, two poses, an arrow."""

import xml.etree.ElementTree as ET

import pytest

from fhir_rehab.program.library import LIBRARY
from fhir_rehab.program.poses import POSES
from fhir_rehab.web.pictures import exercise_picture

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("exercise", LIBRARY, ids=lambda e: e.key)
def test_every_exercise_has_a_drawn_picture(exercise):
    svg = ET.fromstring(str(exercise_picture(exercise.key, exercise.name)))
    assert svg.get("role") == "img" and exercise.name in svg.get("aria-label", "")
    lines = svg.findall(f"{SVG}line")
    dashed = [x for x in lines if x.get("stroke-dasharray")]
    assert dashed and len(lines) - len(dashed) >= 8, "a start (dashed) and an end (solid) figure"
    assert svg.findall(f"{SVG}polygon") or svg.findall(f"{SVG}circle[@fill='none']"), (
        "an arrow or a hold mark"
    )
    assert POSES[exercise.key].start != POSES[exercise.key].end


def test_the_label_is_escaped():
    assert "<script>" not in str(exercise_picture("glute-bridge", "<script>x</script>"))


def test_an_unknown_exercise_has_no_picture():
    with pytest.raises(KeyError):
        exercise_picture("no-such-exercise", "x")
