"""Issue 11: a refreshed token, once stored, is never overwritten by the end-of-request save of
another request of the same session that began before the refresh (that request's copy still
holds the spent token: the next page would refresh a second time, and with a server that
rotates refresh tokens it would present a spent one and lose the session)."""

from __future__ import annotations

import threading

from flask import session

from fhir_rehab.launch.store import TOKEN_KEY
from tests.launch.conftest import ISS, LaunchActions

COOKIE = "fhir_rehab_session"


def test_a_request_that_began_before_a_refresh_does_not_put_the_spent_token_back(
    make_app, auth_server, clock
) -> None:
    app = make_app()
    entered, release = threading.Event(), threading.Event()

    @app.get("/_test/slow-change")
    def slow_change() -> str:
        """A request that read the session before the refresh and changes it after."""
        seen = session[TOKEN_KEY]["access_token"]
        entered.set()
        assert release.wait(30)
        session["something_else"] = "changed"  # the session is saved at the end of this request
        return seen

    actions = LaunchActions(app.test_client(), auth_server)
    done = actions.callback(actions.authorize(iss=ISS, launch="l"))
    sid = next(c.split(";")[0].split("=", 1)[1] for c in done.headers.getlist("Set-Cookie"))

    def tab():  # another tab of the same browser
        client = app.test_client()
        client.set_cookie(COOKIE, sid)
        return client

    slow: list[str] = []
    worker = threading.Thread(
        target=lambda: slow.append(tab().get("/_test/slow-change").get_data(as_text=True))
    )
    worker.start()
    assert entered.wait(30)
    clock.advance(250)  # inside the refresh leeway
    assert tab().get("/_test/patient-id").status_code == 200  # refreshes and stores the new token
    assert len(auth_server.refresh_requests) == 1
    release.set()
    worker.join(30)
    assert slow and slow[0].startswith("AT-secret-")  # it held the old token

    assert tab().get("/_test/patient-id").status_code == 200
    assert len(auth_server.refresh_requests) == 1  # the new token is still the stored one
    with tab().session_transaction() as stored:
        assert stored["something_else"] == "changed"  # and the other request's change is kept
        assert stored[TOKEN_KEY]["access_token"] != slow[0]
