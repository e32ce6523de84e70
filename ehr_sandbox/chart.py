"""The sandbox EHR's patient chart: CDS Hooks cards when it opens, SMART launch from a card."""

from __future__ import annotations

import logging
from typing import Any

import requests
from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from ehr_sandbox.auth.models import LaunchContext
from ehr_sandbox.auth.server import current_runtime
from ehr_sandbox.cds_client import (
    CDS_MODES,
    CdsMode,
    call_patient_view,
    public_cds_jwks,
    render_detail,
    send_feedback,
)
from ehr_sandbox.ehr import USER_KEY, find_patient, pick_user, render_page_error, with_query
from fhir_rehab.fhir.errors import FhirError

log = logging.getLogger(__name__)

bp = Blueprint("sandbox_chart", __name__, url_prefix="/ehr")
_http = requests.Session()
INDICATOR_WORDS = {"critical": "Critical", "warning": "Warning", "info": "Info"}
UNAVAILABLE = "The EHR's FHIR server is not answering. Try again shortly."


@bp.get("/cds/jwks")
def cds_jwks() -> Response:
    """The public key of the EHR's CDS Hooks JWTs (their `jku`)."""
    return jsonify(public_cds_jwks(current_runtime()))


@bp.get("/patient/<patient_id>")
def chart(patient_id: str) -> str | tuple[str, int]:
    """The chart: the patient, then the cards the app's CDS service returned for them."""
    runtime = current_runtime()
    pick_user()
    try:
        mode = CdsMode(request.args.get("cds") or CdsMode.PREFETCH)
    except ValueError:
        return render_page_error(400, "Unknown CDS option", "Pick a CDS option from the list.")
    try:
        patient = find_patient(runtime.backing_client(), patient_id)
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    if patient is None:
        return render_page_error(404, "Patient not found", "There is no such patient.")
    user = runtime.current_user(session.get(USER_KEY))
    answer = call_patient_view(runtime, _http, user, patient.id, mode)
    cards = [_view(card) for card in answer.cards]
    order = {"critical": 0, "warning": 1, "info": 2}
    cards.sort(key=lambda card: order.get(card["indicator"], 3))
    return render_template(
        "sandbox/chart.html",
        patient=patient,
        answer=answer,
        cards=cards,
        mode=mode,
        modes=[(m.value, label) for m, label in CDS_MODES.items()],
        notice=request.args.get("notice"),
        csrf_token=generate_csrf(),
    )


def _view(card: dict[str, Any]) -> dict[str, Any]:
    """What the template shows of a card; anything unexpected is dropped, never trusted."""
    indicator = str(card.get("indicator"))
    indicator = indicator if indicator in INDICATOR_WORDS else "info"
    links = [
        link
        for link in card.get("links") or []
        if isinstance(link, dict)
        and link.get("type") in ("smart", "absolute")
        and str(link.get("url", "")).startswith(("https://", "http://"))
    ]
    suggestions = [s for s in card.get("suggestions") or [] if isinstance(s, dict) and s.get("uuid")]
    reasons = [r for r in card.get("overrideReasons") or [] if isinstance(r, dict) and r.get("code")]
    return {
        "uuid": str(card.get("uuid") or ""),
        "summary": str(card.get("summary") or ""),
        "detail_html": render_detail(card.get("detail")),
        "indicator": indicator,
        "indicator_words": INDICATOR_WORDS[indicator],
        "source": str((card.get("source") or {}).get("label") or ""),
        "links": links,
        "suggestion": next((s["uuid"] for s in suggestions if s.get("isRecommended")), None)
        or (suggestions[0]["uuid"] if suggestions else None),
        "reasons": reasons,
    }


def _checked_form() -> str | None:
    """The patient of a POSTed card form, once its CSRF token is valid."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return None
    return request.form.get("patient") or None


@bp.post("/cds/launch")
def card_launch() -> Response | tuple[str, int]:
    """A card's `smart` link: a real SMART EHR launch of that app for the chart's patient.

    Only an app this EHR has registered may be launched from a card (CDS Hooks 2.0 "Trusting
    CDS Services": the EHR keeps the list of links it deems safe)."""
    runtime = current_runtime()
    patient_id = _checked_form()
    if patient_id is None:
        return render_page_error(400, "Launch failed", "The form expired or was not sent by this page.")
    url = request.form.get("url", "")
    if not runtime.settings.app_launch_url or url != runtime.settings.app_launch_url:
        return render_page_error(400, "Launch refused", "The card links to an app this EHR does not trust.")
    try:
        patient = find_patient(runtime.backing_client(), patient_id)
    except FhirError:
        return render_page_error(502, "FHIR server unavailable", UNAVAILABLE)
    if patient is None:
        return render_page_error(404, "Patient not found", "There is no such patient.")
    card, suggestion = request.form.get("card"), request.form.get("suggestion")
    if card and suggestion:  # taking the card's suggestion: tell the service (feedback)
        status = send_feedback(
            runtime, _http, {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}]}
        )
        log.info("cds feedback accepted: HTTP %s", status)
    record = runtime.store.create_launch(LaunchContext(patient_id=patient.id))
    return redirect(
        with_query(url, {"iss": runtime.settings.fhir_base, "launch": record.launch_id}), code=302
    )


@bp.post("/cds/dismiss")
def card_dismiss() -> Response | tuple[str, int]:
    """Dismiss a card with a reason: `overridden` feedback to the service, then back to the chart."""
    runtime = current_runtime()
    patient_id = _checked_form()
    if patient_id is None:
        return render_page_error(400, "Dismiss failed", "The form expired or was not sent by this page.")
    item: dict[str, Any] = {"card": request.form.get("card", ""), "outcome": "overridden"}
    system, _, rest = request.form.get("reason", "").partition("|")
    code, _, display = rest.partition("|")
    if code:
        item["overrideReason"] = {"reason": {"system": system, "code": code, "display": display}}
    status = send_feedback(runtime, _http, item)
    notice = (
        "Card dismissed; the app was told why."
        if status == 200
        else f"Card dismissed; feedback failed ({status})."
    )
    return redirect(url_for("sandbox_chart.chart", patient_id=patient_id, notice=notice), code=303)
