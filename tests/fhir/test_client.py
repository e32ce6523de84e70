"""The FHIR client: status -> exception, retries only where safe, the base URL fence."""

import json

import pytest
import requests
import responses

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import (
    FhirAuthError,
    FhirConflict,
    FhirError,
    FhirForbidden,
    FhirInvalid,
    FhirNotFound,
    FhirOutsideBase,
    FhirUnavailable,
)

BASE = "https://ehr.example.org/fhir"
OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "processing", "diagnostics": "boom"}],
}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return FhirClient(BASE, sleep=sleeps.append, backoff=0.5, max_retries=2)


@pytest.mark.parametrize(
    "status,error",
    [
        (400, FhirInvalid),
        (422, FhirInvalid),
        (401, FhirAuthError),
        (403, FhirForbidden),
        (404, FhirNotFound),
        (410, FhirNotFound),
        (409, FhirConflict),
        (412, FhirConflict),
        (500, FhirUnavailable),
        (503, FhirUnavailable),
    ],
)
@responses.activate
def test_status_maps_to_one_exception_with_the_outcome(client, status, error):
    responses.add(responses.PUT, f"{BASE}/Task/1", json=OUTCOME, status=status)
    with pytest.raises(error) as info:
        client.update({"resourceType": "Task", "id": "1"}, if_match="3")
    assert info.value.status == status
    assert info.value.outcome == OUTCOME
    assert info.value.diagnostics() == ["boom"]
    assert "boom" in str(info.value)
    assert len(responses.calls) == 1  # writes are never retried
    assert responses.calls[0].request.headers["If-Match"] == 'W/"3"'


@responses.activate
def test_reads_retry_on_503_honouring_retry_after(client, sleeps):
    responses.add(responses.GET, f"{BASE}/Patient/1", status=503, headers={"Retry-After": "2"})
    responses.add(responses.GET, f"{BASE}/Patient/1", json={"resourceType": "Patient", "id": "1"})
    assert client.read("Patient", "1")["id"] == "1"
    assert sleeps == [2.0]


@responses.activate
def test_reads_give_up_after_max_retries(client, sleeps):
    responses.add(responses.GET, f"{BASE}/Patient/1", json=OUTCOME, status=502)
    with pytest.raises(FhirUnavailable):
        client.read("Patient", "1")
    assert len(responses.calls) == 3
    assert sleeps == [0.5, 1.0]


@responses.activate
def test_500_on_a_read_is_not_retried(client):
    responses.add(responses.GET, f"{BASE}/Patient/1", json=OUTCOME, status=500)
    with pytest.raises(FhirUnavailable):
        client.read("Patient", "1")
    assert len(responses.calls) == 1


@responses.activate
def test_timeout_is_retried_for_reads_then_reported(client):
    responses.add(responses.GET, f"{BASE}/Patient/1", body=requests.Timeout("slow"))
    with pytest.raises(FhirUnavailable, match="timed out"):
        client.read("Patient", "1")
    assert len(responses.calls) == 3


@responses.activate
def test_timeout_on_a_transaction_is_not_retried(client):
    responses.add(responses.POST, BASE, body=requests.Timeout("slow"))
    with pytest.raises(FhirUnavailable):
        client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    assert len(responses.calls) == 1


@responses.activate
def test_bearer_token_comes_from_the_provider_each_time():
    tokens = iter(["t1", "t2"])
    client = FhirClient(BASE, token_provider=lambda: next(tokens))
    responses.add(responses.GET, f"{BASE}/Patient/1", json={"resourceType": "Patient", "id": "1"})
    client.read("Patient", "1")
    client.read("Patient", "1")
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer t1", "Bearer t2"]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.org/fhir/Patient?page=2",
        "http://ehr.example.org/fhir/Patient",  # scheme change
        "https://ehr.example.org/other/Patient",  # same host, other path
        "https://ehr.example.org/fhirx/Patient",  # prefix trick
    ],
)
def test_urls_outside_the_base_are_refused(client, url):
    with pytest.raises(FhirOutsideBase):
        client.url_for(url)


@responses.activate
def test_next_link_outside_base_is_refused(client):
    responses.add(
        responses.GET,
        f"{BASE}/Task",
        json={
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [{"relation": "next", "url": "https://evil.example.org/fhir/Task?p=2"}],
            "entry": [],
        },
    )
    with pytest.raises(FhirOutsideBase):
        client.search_all("Task", {"status": "ready"})


@responses.activate
def test_searches_ask_for_a_fresh_answer(client):
    responses.add(responses.GET, f"{BASE}/Task", json={"resourceType": "Bundle", "type": "searchset"})
    client.search("Task", {"code": "x"})
    assert responses.calls[0].request.headers["Cache-Control"] == "no-cache"


def test_paging_follows_opaque_next_links_on_the_real_server(fhir, run_tag):
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "request": {"method": "POST", "url": "Patient"},
                "resource": {
                    "resourceType": "Patient",
                    "meta": {"tag": [{"system": "urn:test", "code": run_tag}]},
                    "name": [{"family": f"Page{i}"}],
                },
            }
            for i in range(7)
        ],
    }
    fhir.transaction(tx)
    found = fhir.search_all("Patient", {"_tag": f"urn:test|{run_tag}", "_count": "3"})
    assert len(found) == 7
    assert len({p["id"] for p in found}) == 7


def test_conditional_create_and_if_match_on_the_real_server(fhir, run_tag):
    task = {
        "resourceType": "Task",
        "status": "ready",
        "intent": "plan",
        "identifier": [{"system": "urn:test", "value": run_tag}],
    }
    first = fhir.create(task, if_none_exist=f"identifier=urn:test|{run_tag}")
    second = fhir.create(task, if_none_exist=f"identifier=urn:test|{run_tag}")
    assert first.status == 201 and second.status == 200
    assert first.body["id"] == second.body["id"]
    current = first.body
    updated = fhir.update({**current, "status": "in-progress"}, if_match=first.version_id)
    assert updated.version_id != first.version_id
    with pytest.raises(FhirConflict):
        fhir.update({**current, "status": "cancelled"}, if_match=first.version_id)
    assert fhir.read("Task", current["id"])["status"] == "in-progress"


def _batch_answer(*statuses):
    """A batch-response Bundle: one entry per status, a searchset for 2xx, an outcome otherwise."""
    entries = []
    for status in statuses:
        if status.startswith("2"):
            entries.append(
                {"resource": {"resourceType": "Bundle", "type": "searchset"}, "response": {"status": status}}
            )
        else:
            entries.append({"response": {"status": status, "outcome": OUTCOME}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": entries}


@pytest.mark.parametrize(
    "status,error",
    [
        ("401 Unauthorized", FhirAuthError),
        ("403 Forbidden", FhirForbidden),
        ("404 Not Found", FhirNotFound),
        ("410 Gone", FhirNotFound),
        ("400", FhirInvalid),
        ("503 Service Unavailable", FhirUnavailable),
        ("no status at all", FhirUnavailable),
    ],
)
@responses.activate
def test_a_failed_batch_entry_raises_what_a_plain_read_would(client, status, error):
    responses.add(responses.POST, BASE, json=_batch_answer("200 OK", status))
    with pytest.raises(error) as caught:
        client.batch(["Task?status=ready", "Practitioner?_count=50"])
    assert caught.value.url == f"{BASE}/Practitioner"  # the entry that failed, without its query
    assert caught.value.diagnostics() == ["boom"]
    sent = responses.calls[0].request
    body = json.loads(sent.body)
    assert body["type"] == "batch"
    assert [e["request"] for e in body["entry"]] == [
        {"method": "GET", "url": "Task?status=ready"},
        {"method": "GET", "url": "Practitioner?_count=50"},
    ]


@responses.activate
def test_batch_answers_in_order_and_missing_ok_gives_none_for_404(client):
    responses.add(responses.POST, BASE, json=_batch_answer("200 OK", "404 Not Found", "201"))
    found = client.batch(["Goal/1", "Goal/2", "Goal/3"], missing_ok=True)
    assert [f and f["resourceType"] for f in found] == ["Bundle", None, "Bundle"]
    assert client.batch([]) == [] and len(responses.calls) == 1  # nothing to read: no request


@responses.activate
def test_a_batch_answered_short_or_without_resources_is_an_error(client):
    responses.add(responses.POST, BASE, json=_batch_answer("200 OK"))
    with pytest.raises(FhirError, match="batch of 2 reads with 1 entries"):
        client.batch(["Task", "Goal"])
    responses.replace(
        responses.POST, BASE, json={"resourceType": "Bundle", "entry": [{"response": {"status": "200"}}]}
    )
    with pytest.raises(FhirError, match="without a resource"):
        client.batch(["Task"])
