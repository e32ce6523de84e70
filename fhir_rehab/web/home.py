"""The landing page at `/`: what the app is and how to launch it (nothing patient-specific)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    return render_template(
        "home/index.html",
        allowlist=current_app.config.get("ISS_ALLOWLIST") or [],
        default_iss=current_app.config.get("DEFAULT_ISS"),
    )
