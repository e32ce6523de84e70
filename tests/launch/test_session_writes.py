"""The server-side session is stored only when a request changed it (or to keep it alive)."""

from __future__ import annotations

from typing import Any

from fhir_rehab.launch.runtime import TOUCH_EVERY_SECONDS, TOUCHED_KEY, get_runtime
from fhir_rehab.launch.store import LAUNCH_KEY


def _count_writes(app: Any) -> list[str]:
    writes: list[str] = []
    interface = app.session_interface
    upsert = interface._upsert_session

    def counting(lifetime: Any, session: Any, store_id: str) -> None:
        writes.append(store_id)
        upsert(lifetime, session, store_id)

    interface._upsert_session = counting
    return writes


def test_unchanged_session_is_not_written_again(app: Any) -> None:
    now = [1_700_000_000.0]
    get_runtime(app).clock = lambda: now[0]
    writes = _count_writes(app)
    client = app.test_client()
    with client.session_transaction() as session:
        session[LAUNCH_KEY] = {"iss": "https://ehr.example/fhir"}
    before = len(writes)
    client.get("/no-such-page")  # the first request stamps the session: one write
    assert len(writes) == before + 1
    for _ in range(5):  # reading pages changes nothing: no write
        client.get("/no-such-page")
    assert len(writes) == before + 1
    now[0] += TOUCH_EVERY_SECONDS  # an active user's session is kept alive
    client.get("/no-such-page")
    assert len(writes) == before + 2
    with client.session_transaction() as session:
        assert session[TOUCHED_KEY] == int(now[0])


def test_a_session_without_a_launch_is_not_rewritten(app: Any) -> None:
    writes = _count_writes(app)
    client = app.test_client()
    with client.session_transaction() as session:
        session["x"] = 1
    before = len(writes)
    client.get("/no-such-page")  # no launch: nothing to keep alive, nothing changed
    assert len(writes) == before
