"""fhir-rehab: a SMART-on-FHIR exercise-prescription app for sciatica."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported by create_app: the CLI's commands do not need it
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults, then FHIR_REHAB_* environment, then `config`."""
    from flask import Flask

    from fhir_rehab.config import load_settings

    app = Flask(__name__, instance_relative_config=True)
    settings = load_settings(config)
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or _shared_secret_key(app)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=settings["SESSION_LIFETIME_SECONDS"])
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def _shared_secret_key(app: Flask) -> str:
    """No key configured: the one stored with the instance, the same in every worker process
    (a random key per process made a form shown by one worker fail CSRF in another)."""
    from fhir_rehab.instance import shared_secret_key

    return shared_secret_key(app.config.get("SECRET_KEY_FILE") or Path(app.instance_path) / "secret_key")


def register_extensions(app: Flask) -> None:
    from fhir_rehab.extensions import csrf, session_store

    if app.config.get("SESSION_REDIS_URL"):
        import redis

        app.config["SESSION_TYPE"] = "redis"
        app.config["SESSION_REDIS"] = redis.Redis.from_url(app.config["SESSION_REDIS_URL"])
    else:
        from cachelib import FileSystemCache

        session_dir = app.config.get("SESSION_DIR") or str(Path(app.instance_path) / "sessions")
        app.config["SESSION_TYPE"] = "cachelib"
        app.config["SESSION_CACHELIB"] = FileSystemCache(session_dir, threshold=10_000)
        app.config["SESSION_FILE_DIR_RESOLVED"] = session_dir  # refresh locks live beside it
    app.config.setdefault("SESSION_PERMANENT", True)
    # No SESSION_USE_SIGNER: deprecated in flask-session 0.8, whose session ids are already
    # 256-bit random values (secrets.token_urlsafe) that cannot be guessed.
    session_store.init_app(app)
    csrf.init_app(app)
    from fhir_rehab.web.headers import init_security_headers

    init_security_headers(app)


def register_blueprints(app: Flask) -> None:
    """Each audience has its own blueprint (launch, clinician, coordinator, patient, CDS Hooks clients)."""
    from fhir_rehab.cds.views import bp as cds_bp
    from fhir_rehab.launch.views import bp as launch_bp
    from fhir_rehab.web.clinician import bp as clinician_bp
    from fhir_rehab.web.coordinator import bp as coordinator_bp
    from fhir_rehab.web.home import bp as home_bp
    from fhir_rehab.web.patient import bp as patient_bp

    app.register_blueprint(launch_bp)
    app.register_blueprint(clinician_bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(patient_bp)
    app.register_blueprint(cds_bp)
    app.register_blueprint(home_bp)


def register_errorhandlers(app: Flask) -> None:
    """Map exceptions to friendly pages (filled in by the web layer)."""
    from fhir_rehab.web.errors import register_errorhandlers as register_error_pages

    register_error_pages(app)


def register_commands(app: Flask) -> None:
    """Flask CLI commands (none yet: the console script lives in fhir_rehab.cli)."""
