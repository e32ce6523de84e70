"""The handout: six exercises fit one A4 page (rendered to PDF, pages counted), with everything
a clinic hands out; a clinic's video link prints as a QR code; nothing is fetched."""

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from fhir_rehab.program.library import LIBRARY
from fhir_rehab.program.model import Dosage
from fhir_rehab.program.progression import StageState
from fhir_rehab.program.redflags import RED_FLAGS, Level
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as P
from fhir_rehab.program.tailoring import MAX_NOTE, Prescribed
from fhir_rehab.resources.handout import build_handout_document
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.wire import to_wire
from fhir_rehab.web.handout import handout_context, render_pdf, safe_media_url
from fhir_rehab.web.pictures import exercise_picture
from tests.support.schema import schema_errors

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Alex"], "family": "Morgan"}]}
SETTINGS = {
    "CLINIC_NAME": "Riverside Physiotherapy",
    "CLINIC_PHONE": "020 7946 0000",
    "CLINIC_MEDIA_URLS": {
        "bird-dog": "https://clinic.example/videos/bird-dog",
        "dead-bug": "javascript:alert(1)",
    },
}


def wordiest(n):
    return sorted(LIBRARY, key=lambda e: len(e.instructions) + len(e.caution), reverse=True)[:n]


def stage_with(exercises, note="Keep it slow and smooth; stop if your leg tingles."):
    items = tuple(
        Prescribed(e, e.dosage, side="left" if i == 0 else "both", note=note if i % 2 == 0 else "")
        for i, e in enumerate(exercises)
    )
    return StageState(
        stage=P.stage(3),
        task_id="t1",
        status="in-progress",
        planned_end="2026-12-20T09:00:00+00:00",
        exercises=tuple(p.as_exercise for p in items),
        prescriptions=items,
    )


def render(app, stage, inline=True):
    from flask import render_template

    context = handout_context(PATIENT, stage, "Pat Physio", SETTINGS, date(2026, 11, 26))
    context.update(picture=exercise_picture, patient_id="p1", can_file=False, careplan_id="cp1")
    with app.test_request_context("/patient/program/sheet"):
        return render_template("clinician/handout.html", for_pdf=inline, **context)


def test_six_of_the_wordiest_exercises_fit_one_a4_page(app):
    html = render(app, stage_with(wordiest(6)))
    pdf = render_pdf(html, "http://localhost/")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = " ".join(reader.pages[0].extract_text().split())
    for expected in (
        "Alex Morgan",
        "26 Nov 2026",
        "Pat Physio",
        "Riverside Physiotherapy",
        "020 7946 0000",
        "Next review: 20 Dec 2026",
        "Left side only.",
        "Keep it slow and smooth",
        "Go to the emergency department now if",
        "Contact us or your doctor the same day if",
    ):
        assert expected in text, expected
    # Every red-flag warning is on the page, under its heading.
    emergency_part, contact_part = text.split("Contact us or your doctor the same day if")
    for flag in RED_FLAGS:
        if flag.warning:
            part = emergency_part if flag.level is Level.EMERGENCY else contact_part
            assert " ".join(flag.warning.split()) in part, flag.key


@pytest.mark.parametrize("note_chars", [120, 220, MAX_NOTE])
def test_the_longest_notes_and_a_qr_code_each_still_fit_one_page_with_every_red_flag(app, note_chars):
    """The worst sheet a clinician can make: the six wordiest exercises, each with a note of
    `note_chars` characters and a clinic video (QR code), a long clinic name."""
    note = ("Do this one slowly in front of a mirror so you can see your back stays still. " * 5)[:note_chars]
    exercises = wordiest(6)
    items = tuple(Prescribed(e, e.dosage, side="left", note=note) for e in exercises)
    stage = StageState(
        stage=P.stage(3),
        task_id="t1",
        status="in-progress",
        planned_end="2026-12-20T09:00:00+00:00",
        exercises=tuple(p.as_exercise for p in items),
        prescriptions=items,
    )
    settings = {
        **SETTINGS,
        "CLINIC_NAME": "Riverside Community Physiotherapy and Sports Injury Clinic",
        "CLINIC_MEDIA_URLS": {e.key: f"https://clinic.example/videos/{e.key}" for e in exercises},
    }
    context = handout_context(PATIENT, stage, "Pat Physio", settings, date(2026, 11, 26))
    context.update(picture=exercise_picture, patient_id="p1", can_file=False, careplan_id="cp1")
    from flask import render_template

    with app.test_request_context("/patient/program/sheet"):
        html = render_template("clinician/handout.html", for_pdf=True, **context)
    assert html.count('class="qr"') == 6
    reader = PdfReader(io.BytesIO(render_pdf(html, "http://localhost/")))
    assert len(reader.pages) == 1, context["density"]
    text = " ".join(reader.pages[0].extract_text().split())
    assert text.count("From your physiotherapist:") == 6 and note[-30:].strip() in text
    for flag in RED_FLAGS:
        if flag.warning:
            assert " ".join(flag.warning.split()) in text, flag.key


def test_every_exercise_has_picture_dose_and_a_seven_day_tick_grid(app):
    html = render(app, stage_with(wordiest(6)), inline=False)
    assert html.count('class="exercise-picture"') == 6
    assert html.count('class="ticks"') == 6 and html.count('<th scope="col">Sun</th>') == 6
    for e in wordiest(6):
        assert e.dosage.describe().capitalize() in html


def test_a_clinic_video_prints_as_a_qr_code_and_a_bad_link_does_not(app):
    html = render(app, stage_with([P.exercise("bird-dog"), P.exercise("dead-bug")]), inline=False)
    assert html.count('class="qr"') == 1 and "https://clinic.example/videos/bird-dog" in html
    assert "javascript:" not in html
    assert safe_media_url("https://user:pw@x.example/") is None


def test_the_pdf_renderer_fetches_nothing(tmp_path):
    import segno

    image = tmp_path / "local.png"
    segno.make("x").save(str(image), scale=4)
    html = f'<p>x</p><img src="{image.as_uri()}"><img src="http://169.254.169.254/latest/meta-data">'
    page = PdfReader(io.BytesIO(render_pdf(html, "http://localhost/"))).pages[0]
    assert list(page.images) == []  # neither a local file nor a network address was read


def test_the_filed_handout_is_a_valid_document_reference(app):
    pdf = render_pdf(render(app, stage_with(wordiest(2))), "http://localhost/")
    doc = build_handout_document(
        pdf,
        patient_id="p1",
        care_plan_id="cp1",
        stage_title="Stage 3",
        actor=Actor("Practitioner/1", "Pat Physio"),
        now=datetime(2026, 11, 26, tzinfo=UTC),
        key="handout-1",
    )
    assert schema_errors(to_wire(doc)) == []
    assert doc["content"][0]["attachment"]["contentType"] == "application/pdf"
    assert doc["content"][0]["attachment"]["size"] == len(pdf)


@pytest.mark.parametrize("bad", [Dosage(reps=0 + 1)])
def test_dose_words_on_the_handout_come_from_the_prescription(app, bad):
    stage = stage_with([P.exercise("cat-camel")])
    item = stage.prescriptions[0]
    tailored = StageState(
        **{**stage.__dict__, "prescriptions": (Prescribed(item.exercise, bad),), "exercises": ()}
    )
    assert "1 repetition, once a day, every day" in render(app, tailored, inline=False)
