"""A request of the same session that began before a sign-out (or a new login) in another tab
does not store the ended session again at its end: its token would stay usable, and its cookie
would be set again in the browser."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, flash, session

from fhir_rehab.launch.runtime import get_session_store
from fhir_rehab.launch.store import TOKEN_KEY
from tests.launch.conftest import ISS, LaunchActions

COOKIE = "fhir_rehab_session"


def sid_of(response: Any) -> str:
    return next(
        c.split(";")[0].split("=", 1)[1]
        for c in response.headers.getlist("Set-Cookie")
        if c.startswith(f"{COOKIE}=")
    )


class SlowTab:
    """A page of the signed-in session that read the session, then waits, then changes it (a
    message for the next page): its end-of-request save comes after whatever the test does."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.entered, self.release = threading.Event(), threading.Event()
        self.responses: list[Any] = []

        @app.get("/_test/slow-flash")
        def slow_flash() -> str:
            seen = session[TOKEN_KEY]["access_token"]
            self.entered.set()
            assert self.release.wait(30)
            flash("Saved.", "info")
            return str(seen)

    def open(self, sid: str) -> SlowTab:
        self.worker = threading.Thread(
            target=lambda: self.responses.append(tab(self.app, sid).get("/_test/slow-flash"))
        )
        return self

    def __enter__(self) -> SlowTab:
        self.worker.start()
        assert self.entered.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.worker.join(30)


def tab(app: Flask, sid: str) -> Any:
    """Another tab of the same browser: the same session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, sid)
    return client


def signed_in(make_app: Callable[..., Flask], auth_server: Any) -> tuple[Flask, SlowTab, str]:
    app = make_app()
    slow = SlowTab(app)
    actions = LaunchActions(app.test_client(), auth_server)
    done = actions.callback(actions.authorize(iss=ISS, launch="l"))
    return app, slow, sid_of(done)


def test_a_request_in_flight_during_sign_out_does_not_bring_the_session_back(make_app, auth_server) -> None:
    app, slow, sid = signed_in(make_app, auth_server)
    with slow.open(sid):
        other = tab(app, sid)
        token = other.get("/_test/csrf").get_data(as_text=True)
        assert other.post("/logout", data={"csrf_token": token}).status_code == 200
        assert get_session_store(app).load(sid) is None
    (late,) = slow.responses
    assert late.status_code == 200 and late.get_data(as_text=True).startswith("AT-secret-")
    assert get_session_store(app).load(sid) is None  # not stored again
    assert not any(c.startswith(f"{COOKIE}=") for c in late.headers.getlist("Set-Cookie"))
    assert tab(app, sid).get("/_test/whoami").status_code == 401


def test_a_request_in_flight_during_a_new_login_does_not_bring_the_old_session_back(
    make_app, auth_server
) -> None:
    app, slow, sid = signed_in(make_app, auth_server)
    with slow.open(sid):
        again = tab(app, sid)
        relaunch = LaunchActions(again, auth_server)
        new_sid = sid_of(relaunch.callback(relaunch.authorize(iss=ISS, launch="m")))
        assert new_sid != sid and get_session_store(app).load(sid) is None
    (late,) = slow.responses
    assert late.status_code == 200
    assert get_session_store(app).load(sid) is None
    assert not any(c.startswith(f"{COOKIE}=") for c in late.headers.getlist("Set-Cookie"))
    assert tab(app, new_sid).get("/_test/whoami").status_code == 200


def test_a_request_of_a_live_session_still_saves_its_change(make_app, auth_server) -> None:
    app, slow, sid = signed_in(make_app, auth_server)
    with slow.open(sid):
        pass  # nothing happens meanwhile
    (late,) = slow.responses
    assert late.status_code == 200
    stored = get_session_store(app).load(sid)
    assert stored is not None and stored.get("_flashes") == [("info", "Saved.")]
