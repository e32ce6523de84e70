"""The sandbox EHR Flask app: `create_sandbox_app` (EHR pages, SMART auth, FHIR proxy)."""

from __future__ import annotations

import secrets

from flask import Flask, redirect
from werkzeug.wrappers import Response

from ehr_sandbox.auth.server import SandboxRuntime
from ehr_sandbox.auth.views import bp as auth_bp
from ehr_sandbox.chart import bp as chart_bp
from ehr_sandbox.ehr import bp as ehr_bp
from ehr_sandbox.portal import bp as portal_bp
from ehr_sandbox.proxy import bp as proxy_bp
from ehr_sandbox.settings import SandboxSettings


def create_sandbox_app(settings: SandboxSettings) -> Flask:
    """Build the sandbox EHR: EHR pages, its SMART authorization server and the FHIR proxy."""
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        # The app under test runs on another port of the same host: cookies ignore ports.
        SESSION_COOKIE_NAME="fhir_rehab_sandbox_session",
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    runtime = SandboxRuntime.create(settings)
    runtime.init_app(app)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    """EHR pages (patient list, chart with CDS Hooks cards, patient portal), authorization server,
    FHIR proxy."""
    app.register_blueprint(ehr_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(chart_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(proxy_bp)

    @app.get("/")
    def index() -> Response:
        return redirect("/ehr/")
