"""The launch blueprint: /launch, /launch/callback and the app's public JWKS."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response

from fhir_rehab.launch.authorize import begin_authorization, remember_pending, take_pending
from fhir_rehab.launch.context import current_launch
from fhir_rehab.launch.errors import (
    BadLaunchRequest,
    ServerLacksFeatures,
    SessionEnded,
    StateMismatch,
    UnknownIssuer,
)
from fhir_rehab.launch.exchange import (
    build_launch,
    exchange_code,
    raise_for_authorization_error,
    userinfo_claims,
    verify_id_token,
)
from fhir_rehab.launch.lifetime import SIGNED_IN_AT_KEY, rotate_session_id, session_end_reason
from fhir_rehab.launch.oauth import public_jwks, revoke_tokens
from fhir_rehab.launch.runtime import TOUCHED_KEY, get_runtime, init_launch
from fhir_rehab.launch.scopes import parse_role
from fhir_rehab.launch.settings import LaunchSettings
from fhir_rehab.launch.store import LAUNCH_KEY, PENDING_KEY, TOKEN_KEY

log = logging.getLogger(__name__)

bp = Blueprint("launch", __name__, template_folder="templates")

PATIENT_HOME = "/patient"  # the clinician's pages (another blueprint)
MY_HOME = "/me"  # the patient's own pages (another blueprint)
WORKLIST_HOME = "/worklist"  # the coordinator's pages (another blueprint)
MAX_LAUNCH_PARAM = 2048
# Endpoints that work without a live session: an ended one is cleared and they go on.
SESSIONLESS = frozenset({"launch.launch", "launch.callback", "launch.jwks", "launch.logout", "static"})


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    init_launch(state.app)  # type: ignore[arg-type]  # the app is a Flask app


@bp.app_context_processor
def _inject_launch() -> dict[str, Any]:
    """Templates get `launch_context` (for the patient banner and the EHR style link)."""
    return {"launch_context": current_launch()}


@bp.before_app_request
def _end_timed_out_sessions() -> None:
    """Idle timeout and absolute lifetime, checked on the server before every request."""
    if LAUNCH_KEY not in session:
        return
    settings = _settings()
    reason = session_end_reason(
        session,
        get_runtime(current_app).clock(),
        last_seen_key=TOUCHED_KEY,
        idle_timeout=settings.idle_timeout,
        lifetime=settings.session_lifetime,
    )
    if reason is None:
        return
    log.info("session ended: %s", "idle" if "without activity" in reason else "lifetime")
    session.clear()  # deleted from the store, and the cookie, when the response goes out
    if request.endpoint not in SESSIONLESS:
        raise SessionEnded(reason)


def _settings() -> LaunchSettings:
    return LaunchSettings.from_config(current_app.config)


@bp.get("/launch")
def launch() -> Response:
    """EHR launch (`iss` + `launch`) or standalone launch (`iss`, or DEFAULT_ISS)."""
    settings = _settings()
    runtime = get_runtime(current_app)
    iss_param, launch_param = request.args.get("iss"), request.args.get("launch")
    if iss_param is None and launch_param is None:
        iss = settings.default_iss
    else:
        iss = settings.allowed_iss(iss_param)
    if iss is None:
        # Never redirect anywhere for an unknown iss: that would make us an open redirector.
        log.warning("launch refused: iss %s", "missing" if not iss_param else "not allowed")
        raise UnknownIssuer()
    if launch_param is not None and not 0 < len(launch_param) <= MAX_LAUNCH_PARAM:
        raise BadLaunchRequest()
    role = parse_role(request.args.get("role"), settings.standalone_role)
    config = runtime.discovery.get(
        iss, now=runtime.clock(), ttl=settings.discovery_ttl, http=runtime.http, timeout=settings.http_timeout
    )
    # The server's CapabilityStatement, read at most once per `discovery_ttl`: stop before
    # sign-in if it lacks what the app needs, rather than give a wrong answer later.
    missing = runtime.capabilities.get(
        iss, now=runtime.clock(), ttl=settings.discovery_ttl, http=runtime.http, timeout=settings.http_timeout
    ).missing()
    if missing:
        log.warning("launch refused: the FHIR server lacks %s", "; ".join(missing))
        raise ServerLacksFeatures(missing)
    auth = begin_authorization(
        config,
        settings,
        launch=launch_param,
        role=role,
        redirect_uri=_redirect_uri(settings),
        now=runtime.clock(),
    )
    session[PENDING_KEY] = remember_pending(
        session.get(PENDING_KEY), auth.state, auth.pending, now=runtime.clock()
    )
    return redirect(auth.url, code=302)


@bp.get("/launch/callback")
def callback() -> Response:
    """The authorization server's redirect back: check state, exchange the code, keep context."""
    settings = _settings()
    runtime = get_runtime(current_app)
    now = runtime.clock()
    # The state is consumed before anything else, so a replayed callback always fails.
    pending = _consume_state(request.args.get("state"), now=now)
    if request.args.get("error") is not None:
        raise_for_authorization_error(request.args.get("error", ""))
    code = request.args.get("code")
    if not code:
        raise BadLaunchRequest()
    response = exchange_code(pending, code, settings=settings, clock=runtime.clock)
    claims = verify_id_token(
        response, pending, settings=settings, jwks_cache=runtime.jwks, http=runtime.http, now=runtime.clock()
    )
    if claims is not None and not (claims.get("fhirUser") or claims.get("profile")):
        # The OpenID default puts profile claims in UserInfo, not in the id_token.
        extra = userinfo_claims(pending, response, claims, http=runtime.http, timeout=settings.http_timeout)
        claims = {**extra, **claims, "fhirUser": extra.get("fhirUser") or extra.get("profile")}
    context, token = build_launch(response, pending, claims, settings=settings, now=runtime.clock())
    if context.fhir_user is None:
        log.warning("launch without a user identity: no fhirUser in the id_token or UserInfo")
    # A new session id at every login, the first included (no fixation); the old one is deleted.
    rotate_session_id(current_app.session_interface, session)
    session[LAUNCH_KEY] = context.to_session()
    session[TOKEN_KEY] = token
    session[SIGNED_IN_AT_KEY] = session[TOUCHED_KEY] = int(now)
    log.info("launch complete: %s context", "patient" if context.patient_id else "no patient")
    if context.is_patient_user:
        return redirect(MY_HOME, code=302)
    return redirect(PATIENT_HOME if context.patient_id else WORKLIST_HOME, code=302)


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the session is deleted on the server, and where the authorization server
    offers revocation (RFC 7009) the refresh and access tokens are revoked there too."""
    token = session.get(TOKEN_KEY)
    had_launch = LAUNCH_KEY in session
    session.clear()
    revoked = False
    if isinstance(token, dict) and token.get("revocation_endpoint"):
        runtime = get_runtime(current_app)
        revoked = revoke_tokens(_settings(), token["revocation_endpoint"], token, clock=runtime.clock)
        log.info("sign-out: tokens %s", "revoked" if revoked else "not revoked (the server refused)")
    else:
        log.info("sign-out%s", ": the server offers no revocation" if token else "")
    response = current_app.response_class(
        render_template("launch/signed_out.html", revoked=revoked, had_launch=had_launch),
        mimetype="text/html",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public key the authorization server uses to check our private_key_jwt assertions."""
    document = public_jwks(_settings())
    if document is None:
        abort(404)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _consume_state(state: str | None, *, now: float) -> dict[str, Any]:
    """The in-flight authorization for `state`, removed from the session (single use)."""
    try:
        entry, remaining = take_pending(session.get(PENDING_KEY), state, now=now)
    except StateMismatch:
        log.warning("launch callback refused: state %s", "missing" if not state else "unknown")
        raise
    if remaining:
        session[PENDING_KEY] = remaining
    else:
        session.pop(PENDING_KEY, None)
    return entry


def _redirect_uri(settings: LaunchSettings) -> str:
    root = settings.public_url or request.url_root.rstrip("/")
    return f"{root}/launch/callback"
