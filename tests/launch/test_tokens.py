"""Access token refresh: before expiry, once per session, and no loop when it fails."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from fhir_rehab.launch.errors import RelaunchRequired
from fhir_rehab.launch.store import LAUNCH_KEY, TOKEN_KEY, MemorySessionStore, SessionLocks
from fhir_rehab.launch.tokens import RefreshError, SessionTokenProvider
from tests.launch.conftest import PATIENT, START


def fhir_calls(auth_server) -> list[Any]:
    return [c for c in auth_server.rsps.calls if c.request.url.endswith(f"/Patient/{PATIENT}")]


def last_bearer(auth_server) -> str:
    return fhir_calls(auth_server)[-1].request.headers["Authorization"].removeprefix("Bearer ")


def stored_token(client) -> dict[str, Any]:
    with client.session_transaction() as sess:
        return dict(sess[TOKEN_KEY])


def test_fresh_token_is_used_without_refresh(launcher, auth_server, client, clock) -> None:
    launcher.ehr_launch()
    clock.advance(200)  # 100 s left, leeway 60 s
    assert client.get("/_test/patient-id").status_code == 200
    assert auth_server.refresh_requests == []
    assert last_bearer(auth_server) == stored_token(client)["access_token"]


def test_token_is_refreshed_shortly_before_expiry(launcher, auth_server, client, clock) -> None:
    launcher.ehr_launch()
    old = stored_token(client)
    clock.advance(241)  # 59 s left
    response = client.get("/_test/patient-id")
    assert response.status_code == 200
    assert len(auth_server.refresh_requests) == 1
    form = auth_server.refresh_requests[0]["form"]
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == old["refresh_token"]
    new = stored_token(client)
    assert new["access_token"] != old["access_token"]
    assert new["expires_at"] == int(START) + 241 + 300
    assert last_bearer(auth_server) == new["access_token"]
    # The next page uses the refreshed token: no second refresh.
    assert client.get("/_test/patient-id").status_code == 200
    assert len(auth_server.refresh_requests) == 1


def test_unreachable_token_endpoint_ends_the_launch(launcher, auth_server, client, clock) -> None:
    launcher.ehr_launch()
    auth_server.refresh_error = (503, {"error": "temporarily_unavailable"})
    clock.advance(400)
    response = client.get("/_test/patient-id")
    assert response.status_code == 401
    page = html.unescape(response.get_data(as_text=True))
    assert "Your access to the EHR has expired" in page and "the EHR did not renew it" in page


def test_no_refresh_token_means_relaunch(launcher, auth_server, client, clock) -> None:
    launcher.ehr_launch()
    with client.session_transaction() as sess:
        token = dict(sess[TOKEN_KEY])
        token["refresh_token"] = None
        sess[TOKEN_KEY] = token
    clock.advance(400)
    response = client.get("/_test/patient-id")
    assert response.status_code == 401
    assert "no way to renew it" in html.unescape(response.get_data(as_text=True))
    assert auth_server.refresh_requests == []


def test_refreshed_token_rejected_again_means_relaunch(launcher, auth_server, client) -> None:
    launcher.ehr_launch()
    auth_server.fhir_rejects_all = True
    response = client.get("/_test/patient-id")
    assert response.status_code == 401
    page = html.unescape(response.get_data(as_text=True))
    # Its own true words: refused right after a renewal, not "expired".
    assert "The EHR refused the app's access" in page and "even right after renewing" in page
    assert "expired" not in page
    assert 'href="/launch?iss=' in page and "Sign in again" in page  # a relaunch action
    assert len(auth_server.refresh_requests) == 1  # no loop
    assert len(fhir_calls(auth_server)) == 2


def test_rejection_right_after_proactive_refresh_means_relaunch(launcher, auth_server, client, clock) -> None:
    launcher.ehr_launch()
    auth_server.fhir_rejects_all = True
    clock.advance(250)
    assert client.get("/_test/patient-id").status_code == 401
    assert len(auth_server.refresh_requests) == 1
    assert len(fhir_calls(auth_server)) == 1


def test_refresh_uses_the_client_authentication(make_app, auth_server, clock) -> None:
    from tests.launch.conftest import LaunchActions

    app = make_app(CLIENT_SECRET="s3cret")
    client = app.test_client()
    LaunchActions(client, auth_server).ehr_launch()
    clock.advance(250)
    assert client.get("/_test/patient-id").status_code == 200
    assert auth_server.refresh_requests[0]["headers"]["Authorization"].startswith("Basic ")


# -- one refresh per session, even for concurrent requests -----------------------------------
SID = "session-1"
EXPIRING = {
    "access_token": "old",
    "refresh_token": "r1",
    "expires_at": START + 30,
    "token_endpoint": "https://auth.example/token",
}


class CountingRefresher:
    def __init__(self, hold: threading.Event | None = None, entered: threading.Event | None = None) -> None:
        self.calls = 0
        self.hold, self.entered = hold, entered

    def __call__(self, token: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.entered:
            self.entered.set()
        if self.hold:
            assert self.hold.wait(10), "test deadlock guard"
        return {"access_token": f"new-{self.calls}", "refresh_token": "r2", "expires_at": START + 330}


class ObservedLocks(SessionLocks):
    """SessionLocks that signal when a second caller starts waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()
        self.holders = 0

    @contextmanager
    def hold(self, sid: str) -> Iterator[None]:
        self.holders += 1
        if self.holders == 2:
            self.waiting.set()
        with super().hold(sid):
            yield


def make_provider(store, session, locks, refresher, clock) -> SessionTokenProvider:
    return SessionTokenProvider(
        sid=SID, session=session, store=store, locks=locks, refresher=refresher, clock=clock, leeway=60
    )


def two_request_snapshots() -> tuple[MemorySessionStore, dict[str, Any], dict[str, Any]]:
    store = MemorySessionStore()
    store.save(SID, {TOKEN_KEY: dict(EXPIRING), LAUNCH_KEY: {"iss": "x"}})
    return store, store.load(SID) or {}, store.load(SID) or {}


def test_second_request_reuses_the_first_requests_refresh(clock) -> None:
    store, first, second = two_request_snapshots()
    refresher = CountingRefresher()
    locks = SessionLocks()
    assert make_provider(store, first, locks, refresher, clock)() == "new-1"
    # The second request still holds the old, expiring token in its own session copy.
    assert second[TOKEN_KEY]["access_token"] == "old"
    assert make_provider(store, second, locks, refresher, clock)() == "new-1"
    assert refresher.calls == 1
    assert second[TOKEN_KEY]["access_token"] == "new-1"
    assert store.load(SID)[TOKEN_KEY]["refresh_token"] == "r2"


def test_concurrent_requests_refresh_once(clock) -> None:
    store, first, second = two_request_snapshots()
    hold, entered = threading.Event(), threading.Event()
    refresher = CountingRefresher(hold=hold, entered=entered)
    locks = ObservedLocks()
    results: dict[str, str] = {}

    def run(name: str, session: dict[str, Any]) -> None:
        results[name] = make_provider(store, session, locks, refresher, clock)()

    a = threading.Thread(target=run, args=("a", first))
    b = threading.Thread(target=run, args=("b", second))
    a.start()
    assert entered.wait(10)  # request A is inside the refresh
    b.start()
    assert locks.waiting.wait(10)  # request B needs a refresh too and waits for the lock
    hold.set()
    a.join(10)
    b.join(10)
    assert refresher.calls == 1
    assert results == {"a": "new-1", "b": "new-1"}


def test_failed_refresh_clears_the_stored_launch(clock) -> None:
    store, first, _ = two_request_snapshots()

    def failing(token: dict[str, Any]) -> dict[str, Any]:
        raise RefreshError()

    with pytest.raises(RelaunchRequired):
        make_provider(store, first, SessionLocks(), failing, clock)()
    assert TOKEN_KEY not in store.load(SID) and LAUNCH_KEY not in store.load(SID)
    assert TOKEN_KEY not in first


def test_token_without_expiry_is_not_refreshed(clock) -> None:
    store = MemorySessionStore()
    session = {TOKEN_KEY: {**EXPIRING, "expires_at": None}}
    store.save(SID, session)
    refresher = CountingRefresher()
    assert make_provider(store, session, SessionLocks(), refresher, clock)() == "old"
    assert refresher.calls == 0
