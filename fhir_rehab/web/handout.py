"""The home-exercise handout: one A4 page per stage, as printable HTML and as a PDF.

The PDF is made server-side by WeasyPrint (with the system's Pango); QR codes for a clinic's
own picture or video of an exercise are made by segno. Both are imported when first needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from fhir_rehab.program.model import Exercise
from fhir_rehab.program.progression import StageState
from fhir_rehab.program.redflags import RED_FLAGS, Urgency
from fhir_rehab.program.tailoring import Prescribed
from fhir_rehab.web.naming import patient_name

MAX_ON_ONE_PAGE = 6
# How much text the sheet carries (characters; a QR code counts as QR_WEIGHT) -> the type size
# that keeps six exercises and every red-flag action on one A4 page (tests/web/test_handout.py
# renders the wordiest exercises, with and without 300-character notes and QR codes).
DENSITY = ((2700, ""), (3700, "compact"), (None, "tight"))
QR_WEIGHT = 120


@dataclass(frozen=True)
class HandoutItem:
    exercise: Exercise  # with this patient's dose
    side_words: str
    note: str
    media_url: str | None


def safe_media_url(value: object) -> str | None:
    """A clinic's picture/video link, only if it is a plain http(s) URL with a host.

    >>> safe_media_url("https://clinic.example/v/1"), safe_media_url("javascript:alert(1)")
    ('https://clinic.example/v/1', None)
    """
    if not isinstance(value, str) or len(value) > 500:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return None
    return value


def handout_items(stage: StageState, media: dict[str, Any]) -> list[HandoutItem]:
    prescribed: list[Prescribed] = list(stage.prescriptions)
    if prescribed:
        pairs = [(p.as_exercise, p.side_words, p.note) for p in prescribed]
    else:
        pairs = [(e, "", "") for e in (stage.exercises or stage.stage.exercises)]
    return [HandoutItem(e, side, note, safe_media_url(media.get(e.key))) for e, side, note in pairs]


def text_load(items: list[HandoutItem]) -> int:
    return sum(
        len(i.exercise.name)
        + len(i.exercise.instructions)
        + len(i.exercise.caution)
        + len(i.note)
        + len(i.exercise.dosage.describe())
        + (QR_WEIGHT if i.media_url else 0)
        for i in items
    )


def density(items: list[HandoutItem]) -> str:
    """The sheet's type-size class: "" (8.2 pt), "compact" (7.6 pt) or "tight" (7 pt)."""
    load = text_load(items)
    return next(name for limit, name in DENSITY if limit is None or load <= limit)


def red_flag_actions() -> tuple[list[str], list[str]]:
    """(go to the emergency department now, contact us or your doctor the same day).

    Every red flag that can appear at home is on the sheet: the emergency signs (cauda equina)
    under the first heading; the same-day signs and the serious-pathology signs (weight loss,
    fever, night pain: a medical review within days, but the patient should call the same day)
    under the second. Questions about the past (a history of cancer, steroids, age at onset)
    are asked at each screen, not printed as warnings."""
    emergency = [f.warning for f in RED_FLAGS if f.urgency is Urgency.EMERGENCY and f.warning]
    contact = [f.warning for f in RED_FLAGS if f.urgency is not Urgency.EMERGENCY and f.warning]
    return emergency, contact


def qr_svg(url: str) -> Markup:
    """A QR code for the URL as inline SVG (segno)."""
    import segno

    return Markup(segno.make(url, error="m").svg_inline(scale=2, border=1))  # noqa: S704 - segno's own SVG


def handout_context(
    patient: dict[str, Any],
    stage: StageState,
    clinician: str,
    settings: dict[str, Any],
    today: date,
) -> dict[str, Any]:
    items = handout_items(stage, settings.get("CLINIC_MEDIA_URLS") or {})
    emergency, same_day = red_flag_actions()
    review = (stage.planned_end or "")[:10]
    return {
        "patient_name": patient_name(patient),
        "stage": stage.stage,
        "items": items,
        "clinician": clinician,
        "clinic_name": settings.get("CLINIC_NAME") or "",
        "clinic_phone": settings.get("CLINIC_PHONE") or "",
        "today": today,
        "next_review": date.fromisoformat(review) if review else None,
        "emergency": emergency,
        "same_day": same_day,
        "qr": qr_svg,
        "weekdays": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        "too_many": len(items) > MAX_ON_ONE_PAGE,
        "density": density(items),
    }


HANDOUT_CSS = Path(__file__).resolve().parents[1] / "static" / "handout.css"


def render_pdf(html: str, base_url: str, css: str | None = None) -> bytes:
    """The handout HTML as a PDF (WeasyPrint), styled by `css` (default: the handout's
    stylesheet). Everything it needs is given here, so no URL is fetched: a fetcher that allows
    no protocol (not file:, not http:) leaves any other reference out."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=(), allow_redirects=False, timeout=1)
    sheet = weasyprint.CSS(string=HANDOUT_CSS.read_text() if css is None else css, url_fetcher=fetcher)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[sheet]))
