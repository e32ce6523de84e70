"""Feedback is stored server-side once per item, counted per kind of card; the store is shared
by every worker (files or Redis, like the sessions), so is the record of used JWT ids."""

from __future__ import annotations

import json

import pytest

from fhir_rehab import codes as c
from fhir_rehab.cli import main
from tests.cds.conftest import (
    FEEDBACK_URL,
    ISS,
    SERVICE_URL,
    bearer,
    full_prefetch,
    hook_body,
    make_cds_app,
    make_patient,
)
from tests.web.test_redis_sessions import redis_url  # noqa: F401 - the Redis server fixture

STAMP = "2026-11-26T09:00:00Z"


@pytest.fixture
def card(cds, keys, fhir, run_tag):
    patient = make_patient(fhir, run_tag, c.ICD_LUMBAGO_SCIATICA_RIGHT)
    body = hook_body(patient, prefetch=full_prefetch(fhir, patient))
    response = cds.post(
        "/cds-services/sciatica-rehab", json=body, headers=bearer(keys.sign(ISS, SERVICE_URL))
    )
    (card,) = response.get_json()["cards"]
    return card


def send(cds, keys, items):
    return cds.post(
        "/cds-services/sciatica-rehab/feedback",
        json={"feedback": items},
        headers=bearer(keys.sign(ISS, FEEDBACK_URL)),
    )


def accepted(card):
    return {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": STAMP,
    }


def overridden(card):
    reason = card["overrideReasons"][1]
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": reason, "userComment": "Sees a physiotherapist privately"},
        "outcomeTimestamp": STAMP,
    }


def test_feedback_is_stored_once_and_reported(cds, keys, card, tmp_path, monkeypatch, capsys):
    first = send(cds, keys, [accepted(card)])
    assert first.status_code == 200 and first.get_json() == {"stored": 1, "alreadyStored": 0}
    again = send(cds, keys, [accepted(card)])  # the client resends: idempotent
    assert again.get_json() == {"stored": 0, "alreadyStored": 1}
    assert send(cds, keys, [overridden(card)]).get_json() == {"stored": 1, "alreadyStored": 0}

    monkeypatch.setenv("FHIR_REHAB_CDS_STORE_DIR", str(tmp_path / "cds"))
    monkeypatch.setenv("FHIR_REHAB_SESSION_DIR", str(tmp_path / "cli-sessions"))
    capsys.readouterr()
    assert main(["cds-feedback", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row == {
        "kind": "suggest-program",
        "shown": 1,
        "accepted": 1,
        "overridden": 1,
        "reasons": {"Already in physiotherapy elsewhere": 1},
        "taken": "50%",
    }
    assert main(["cds-feedback"]) == 0
    assert "suggest-program" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change, message",
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"acceptedSuggestions": []}, "acceptedSuggestions"),
        ({"outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
        ({"card": ""}, "card"),
    ],
)
def test_bad_feedback_is_refused_whole_with_the_reason(cds, keys, card, change, message):
    response = send(cds, keys, [overridden(card), {**accepted(card), **change}])
    assert response.status_code == 400 and message in response.get_json()["error"]
    # Nothing of that request was stored: sending the good item now stores it.
    assert send(cds, keys, [overridden(card)]).get_json()["stored"] == 1


def test_feedback_needs_a_trusted_client(cds, keys, card):
    assert (
        cds.post("/cds-services/sciatica-rehab/feedback", json={"feedback": [accepted(card)]}).status_code
        == 401
    )
    wrong_aud = bearer(keys.sign(ISS, SERVICE_URL))
    response = cds.post(
        "/cds-services/sciatica-rehab/feedback", json={"feedback": [accepted(card)]}, headers=wrong_aud
    )
    assert response.status_code == 401
    assert send(cds, keys, [accepted(card)]).get_json()["stored"] == 1


def _discovery_twice(first_app, second_app, keys):
    from tests.cds.conftest import DISCOVERY_URL

    token = bearer(keys.sign(ISS, DISCOVERY_URL))
    return (
        first_app.test_client().get("/cds-services", headers=token).status_code,
        second_app.test_client().get("/cds-services", headers=token).status_code,
    )


def test_a_jti_is_used_once_across_workers_sharing_the_file_store(tmp_path, keys, recorder, fhir_server):
    one = make_cds_app(tmp_path, keys, recorder, fhir_server.base_url)
    two = make_cds_app(tmp_path, keys, recorder, fhir_server.base_url)
    assert _discovery_twice(one, two, keys) == (200, 401)


def test_a_jti_is_used_once_across_workers_sharing_redis(tmp_path, keys, recorder, fhir_server, redis_url):  # noqa: F811
    one = make_cds_app(tmp_path / "a", keys, recorder, fhir_server.base_url, SESSION_REDIS_URL=redis_url)
    two = make_cds_app(tmp_path / "b", keys, recorder, fhir_server.base_url, SESSION_REDIS_URL=redis_url)
    assert _discovery_twice(one, two, keys) == (200, 401)
    assert not (tmp_path / "a" / "cds" / "jti").exists()  # nothing went to files


@pytest.mark.parametrize("backend", ["files", "redis"])
def test_both_stores_keep_cards_and_feedback_once(backend, tmp_path, redis_url):  # noqa: F811
    import redis

    from fhir_rehab.cds.feedback import count_feedback
    from fhir_rehab.cds.store import FileCdsStore, RedisCdsStore

    if backend == "redis":
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        store = RedisCdsStore(client)
    else:
        store = FileCdsStore(tmp_path / "cds")
    store.remember_cards({"u1": "suggest-program", "u2": "red-flag-review"})
    store.remember_cards({"u1": "suggest-program"})
    assert store.card_kind("u1") == "suggest-program" and store.card_kind("nope") is None
    record = {"kind": "suggest-program", "outcome": "accepted"}
    assert store.add_feedback("k1", record) is True
    assert store.add_feedback("k1", record) is False
    counts = {r.kind: (r.shown, r.accepted) for r in count_feedback(store.feedback(), store.issued_cards())}
    assert counts == {"red-flag-review": (1, 0), "suggest-program": (1, 1)}
    assert store.use_jti("iss", "j", expires_at=9e9) is True
    assert store.use_jti("iss", "j", expires_at=9e9) is False
    assert store.use_jti("other-iss", "j", expires_at=9e9) is True
