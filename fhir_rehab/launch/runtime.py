"""Per-app launch state (clock, HTTP session, caches, locks) and the session cookie policy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, session

from fhir_rehab.fhir.capabilities import CapabilityCache
from fhir_rehab.launch.backend import BackendTokens, backend_credentials
from fhir_rehab.launch.discovery import DiscoveryCache
from fhir_rehab.launch.idtoken import JwksCache
from fhir_rehab.launch.lifetime import touch_interval
from fhir_rehab.launch.settings import LaunchSettings
from fhir_rehab.launch.store import (
    LAUNCH_KEY,
    TOKEN_KEY,
    FileSessionLocks,
    FlaskSessionStore,
    RedisSessionLocks,
    SessionLocks,
    SessionStore,
)
from fhir_rehab.launch.tokens import token_to_save

EXTENSION_KEY = "fhir_rehab.launch"
TOUCHED_KEY = "touched"  # when the stored session's lifetime was last extended (epoch seconds)
TOUCH_EVERY_SECONDS = 300


@dataclass
class LaunchRuntime:
    """What the launch views share within one app. Tests replace `clock` to move time."""

    clock: Callable[[], float] = time.time
    http: requests.Session = field(default_factory=requests.Session)
    discovery: DiscoveryCache = field(default_factory=DiscoveryCache)
    capabilities: CapabilityCache = field(default_factory=CapabilityCache)
    jwks: JwksCache = field(default_factory=JwksCache)
    locks: SessionLocks = field(default_factory=SessionLocks)
    store: SessionStore | None = None  # default: the app's flask-session store
    fhir_http: FhirHttpPool = field(default_factory=lambda: FhirHttpPool())
    backend_tokens: BackendTokens = field(default_factory=BackendTokens)  # launch.backend


class FhirHttpPool:
    """One pooled `requests.Session` per FHIR base in this process: pages reuse the open
    connection instead of a new TCP connection per page. Bases come from the launch (the
    allowlist); the pool is capped anyway."""

    MAX_BASES = 32

    def __init__(self) -> None:
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()

    def for_base(self, base_url: str) -> requests.Session:
        key = base_url.rstrip("/")
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                if len(self._sessions) >= self.MAX_BASES:
                    self._sessions.pop(next(iter(self._sessions))).close()
                found = self._sessions[key] = requests.Session()
            return found


def init_launch(app: Flask) -> LaunchRuntime:
    """Attach the runtime to the app and set the session cookie flags (once per app)."""
    runtime = LaunchRuntime()
    if app.config.get("SESSION_REDIS") is not None:  # sessions in Redis: lock across workers
        runtime.locks = RedisSessionLocks(app.config["SESSION_REDIS"])
    elif app.config.get("SESSION_FILE_DIR_RESOLVED"):  # files: a file lock across workers
        runtime.locks = FileSessionLocks(Path(app.config["SESSION_FILE_DIR_RESOLVED"]) / "refresh-locks")
    app.extensions[EXTENSION_KEY] = runtime
    settings = LaunchSettings.from_config(app.config)
    backend_credentials(app.config)  # a malformed BACKEND_SERVICES stops start-up, not a hold
    configure_session_cookie(app.config, settings)
    if settings.is_https:
        partition_session_cookie(app)
    save_sessions_only_when_changed(app, runtime)
    never_save_a_spent_token(app)
    return runtime


def save_sessions_only_when_changed(app: Flask, runtime: LaunchRuntime) -> None:
    """Write the server-side session only when a request changed it (flask-session otherwise
    rewrites it on every request: 15-18% of a worker's CPU, and a request that changed nothing
    could overwrite what a concurrent one of the same session had just stored).

    The session still slides: a request more than TOUCH_EVERY_SECONDS after the last write
    stores it again, extending its lifetime, so an active user is not logged out.
    """
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    # The stamp is also the last activity the idle timeout reads (launch/lifetime.py).
    every = touch_interval(LaunchSettings.from_config(app.config).idle_timeout, TOUCH_EVERY_SECONDS)

    @app.after_request
    def touch(response: Response) -> Response:
        if session.get(LAUNCH_KEY) is None:
            return response  # nothing worth keeping alive
        now = int(runtime.clock())
        if now - int(session.get(TOUCHED_KEY) or 0) >= every:
            session[TOUCHED_KEY] = now
        return response


def never_save_a_spent_token(app: Flask) -> None:
    """A request's end-of-request save never puts back a token another request has replaced,
    nor a session another request has ended.

    Each request holds its own copy of the session, read when it began, and saves it when it
    changed something (the activity stamp, a CSRF token, a message). A request that began before
    another one refreshed the token would store the spent token again: the next page would
    refresh a second time, and against a server that rotates refresh tokens it would present a
    spent one and lose the session. So a changed session is saved with the store's token when
    the store has a newer one, or none (launch/tokens.py `token_to_save`).

    A request that began before a sign-out (or a timeout) in another tab would likewise store
    the ended session again, token included, and set its cookie again. So a session that was in
    the store when the request began, under the same id, and is gone now is not saved: it
    ended. A login's session is stored under a new id (launch/lifetime.py `rotate_session_id`),
    which the store does not have yet: it is saved as it is.
    """
    interface = app.session_interface
    open_session, save = interface.open_session, interface.save_session

    def open_noting_the_stored_id(app: Flask, request: Any) -> Any:
        sess: Any = open_session(app, request)
        if sess is not None:
            # flask-session (0.8, no signer) keeps the cookie's id only when the store has that
            # session; otherwise it starts a new one under a new id.
            sid = getattr(sess, "sid", None)
            cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
            sess.stored_sid = sid if sid and cookie == sid else None
        return sess

    def save_without_spent_token(app: Flask, sess: Any, response: Response) -> None:
        sid, ours = getattr(sess, "sid", None), dict.get(sess, TOKEN_KEY)
        was_stored = sid is not None and getattr(sess, "stored_sid", None) == sid
        if sid and sess.modified and sess and (was_stored or isinstance(ours, dict)):
            stored = get_session_store(app).load(sid)
            if stored is None and was_stored:
                return  # ended by another request meanwhile: not stored again, no cookie
            if stored is not None and isinstance(ours, dict):
                keep = token_to_save(ours, stored.get(TOKEN_KEY))
                if keep is None:
                    sess.pop(TOKEN_KEY, None)
                elif keep is not ours:
                    sess[TOKEN_KEY] = dict(keep)
        save(app, sess, response)

    interface.open_session = open_noting_the_stored_id  # type: ignore[method-assign]
    interface.save_session = save_without_spent_token  # type: ignore[method-assign,assignment]


def partition_session_cookie(app: Flask) -> None:
    """Mark the session cookie `Partitioned` (CHIPS): browsers that block third-party cookies
    still keep it for the app inside the EHR's iframe, partitioned by the EHR's site.

    flask-session 0.8 does not pass Flask's SESSION_COOKIE_PARTITIONED through, and it sets the
    cookie after every after_request hook, so the session interface's save is wrapped instead.
    """
    interface, name = app.session_interface, app.config["SESSION_COOKIE_NAME"]
    save = interface.save_session

    def save_partitioned(app: Flask, session: Any, response: Response) -> None:
        save(app, session, response)
        cookies = response.headers.getlist("Set-Cookie")
        marked = [
            f"{c}; Partitioned" if c.startswith(f"{name}=") and "Partitioned" not in c else c for c in cookies
        ]
        if marked != cookies:
            response.headers.setlist("Set-Cookie", marked)

    interface.save_session = save_partitioned  # type: ignore[method-assign]


def get_runtime(app: Flask) -> LaunchRuntime:
    runtime = app.extensions.get(EXTENSION_KEY)
    return runtime if isinstance(runtime, LaunchRuntime) else init_launch(app)


def get_session_store(app: Flask) -> SessionStore:
    runtime = get_runtime(app)
    if runtime.store is None:
        runtime.store = FlaskSessionStore(app.session_interface, app.permanent_session_lifetime)
    return runtime.store


def configure_session_cookie(config: MutableMapping[str, Any], settings: LaunchSettings) -> None:
    """Session cookie flags, decided by how the app is served.

    Over HTTPS (`PUBLIC_URL` starts with https) the cookie is `Secure; HttpOnly;
    SameSite=None`: an EHR usually shows the app in an iframe on another site, and a
    browser only sends a third-party cookie marked SameSite=None, which it accepts only with
    Secure. Over plain http (local development on localhost) the cookie is `HttpOnly;
    SameSite=Lax`: browsers reject SameSite=None without Secure, and Lax still lets the
    top-level redirect back from the authorization server carry the cookie. In both cases the
    cookie holds only the opaque, signed session id; everything else stays on the server.
    """
    config["SESSION_COOKIE_HTTPONLY"] = True
    if settings.is_https:
        config["SESSION_COOKIE_SECURE"] = True
        config["SESSION_COOKIE_SAMESITE"] = "None"
    else:
        config["SESSION_COOKIE_SECURE"] = False
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
