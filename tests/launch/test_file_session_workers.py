"""Issue 11: file sessions shared by several worker processes refresh a token once (a file
lock), like Redis sessions: no worker reuses a spent refresh token."""

from __future__ import annotations

import threading
import time

from fhir_rehab.launch.runtime import get_runtime
from fhir_rehab.launch.store import FileSessionLocks
from tests.launch.conftest import ISS, LaunchActions

COOKIE = "fhir_rehab_session"


def test_two_workers_on_one_file_store_refresh_once(make_app, auth_server, clock, tmp_path) -> None:
    shared = str(tmp_path / "shared-sessions")
    workers = [make_app(SESSION_DIR=shared), make_app(SESSION_DIR=shared)]  # two processes' apps
    assert all(isinstance(get_runtime(w).locks, FileSessionLocks) for w in workers)
    first = LaunchActions(workers[0].test_client(), auth_server)
    done = first.callback(first.authorize(iss=ISS, launch="l"))
    sid = next(c.split(";")[0].split("=", 1)[1] for c in done.headers.getlist("Set-Cookie"))
    auth_server.on_refresh = lambda: time.sleep(0.3)  # widen the race window
    clock.advance(250)  # inside the refresh leeway
    results: list[int] = []

    def page(worker) -> None:
        client = worker.test_client()
        client.set_cookie(COOKIE, sid)
        results.append(client.get("/_test/patient-id").status_code)

    threads = [threading.Thread(target=page, args=(workers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    assert len(auth_server.refresh_requests) == 1
