"""Issue 11, leaks at the FHIR edge: no redirect followed, links checked after normalisation,
reads (batch reads too) retried on 429/503, writes never retried."""

import json

import pytest
import responses

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirOutsideBase, FhirRedirected, FhirUnavailable

BASE = "https://ehr.example.org/fhir"
ELSEWHERE = "https://attacker.example.net/collect"
BATCH_READ = {
    "resourceType": "Bundle",
    "type": "batch",
    "entry": [{"request": {"method": "GET", "url": "Patient/1"}}],
}
BATCH_ANSWER = {"resourceType": "Bundle", "type": "batch-response", "entry": []}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return FhirClient(BASE, sleep=sleeps.append, backoff=0.5, max_retries=2, token_provider=lambda: "AT-1")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@responses.activate
def test_a_redirect_on_a_write_is_an_error_naming_the_location_and_nothing_is_resent(client, status):
    responses.add(responses.POST, f"{BASE}/Observation", status=status, headers={"Location": ELSEWHERE})
    responses.add(responses.POST, ELSEWHERE, json={"resourceType": "Observation", "id": "x"}, status=201)
    with pytest.raises(FhirRedirected) as info:
        client.create({"resourceType": "Observation", "status": "final"})
    assert ELSEWHERE in str(info.value)
    assert info.value.location == ELSEWHERE
    assert [c.request.url for c in responses.calls] == [f"{BASE}/Observation"]


@responses.activate
def test_a_redirect_on_a_batch_read_is_not_followed(client):
    responses.add(responses.POST, BASE, status=307, headers={"Location": ELSEWHERE})
    responses.add(responses.POST, ELSEWHERE, json=BATCH_ANSWER)
    with pytest.raises(FhirRedirected):
        client.transaction(BATCH_READ)
    assert len(responses.calls) == 1


@responses.activate
def test_a_redirect_on_a_read_is_not_followed_nor_retried(client):
    responses.add(responses.GET, f"{BASE}/Patient/1", status=302, headers={"Location": ELSEWHERE})
    with pytest.raises(FhirRedirected):
        client.read("Patient", "1")
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/../../steal/Task",
        f"{BASE}/Task/../../steal",
        f"{BASE}/./../steal",
        f"{BASE}/%2e%2e/steal",
        f"{BASE}/%2E%2E/%2e%2e/steal",
        f"{BASE}/Task/..%2f..%2fsteal",
        "https://user@ehr.example.org/fhir/Task",
        "https://ehr.example.org:444/fhir/Task",
        "https://ehr.example.org.attacker.net/fhir/Task",
    ],
)
def test_links_are_checked_after_normalisation(client, url):
    with pytest.raises(FhirOutsideBase):
        client.url_for(url)


@pytest.mark.parametrize("path", ["../steal", "Task/../../steal", "%2e%2e/steal"])
def test_relative_paths_cannot_climb_out_of_the_base(client, path):
    with pytest.raises(FhirOutsideBase):
        client.url_for(path)


def test_a_harmless_dot_segment_is_resolved_and_stays_on_the_base(client):
    assert client.url_for(f"{BASE}/Task/./x/../1?_count=5") == f"{BASE}/Task/1?_count=5"


@responses.activate
def test_a_next_link_climbing_out_of_the_base_never_gets_the_token(client):
    responses.add(
        responses.GET,
        f"{BASE}/Task",
        json={
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [{"relation": "next", "url": f"{BASE}/../../steal/Task"}],
            "entry": [],
        },
    )
    with pytest.raises(FhirOutsideBase):
        client.search_all("Task", {"status": "ready"})
    assert [c.request.url.split("?")[0] for c in responses.calls] == [f"{BASE}/Task"]


@responses.activate
def test_a_batch_read_is_retried_on_429_honouring_retry_after(client, sleeps):
    responses.add(responses.POST, BASE, status=429, headers={"Retry-After": "3"})
    responses.add(responses.POST, BASE, json=BATCH_ANSWER)
    assert client.transaction(BATCH_READ)["type"] == "batch-response"
    assert sleeps == [3.0]
    assert [json.loads(c.request.body) for c in responses.calls] == [BATCH_READ, BATCH_READ]


@responses.activate
def test_a_read_gives_up_after_a_bounded_number_of_429s(client, sleeps):
    responses.add(responses.GET, f"{BASE}/Patient/1", status=429, headers={"Retry-After": "1"})
    with pytest.raises(FhirUnavailable):
        client.read("Patient", "1")
    assert len(responses.calls) == 3
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize(
    "bundle",
    [
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "GET", "url": "P/1"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"request": {"method": "GET", "url": "Patient/1"}},
                {
                    "request": {"method": "POST", "url": "Observation"},
                    "resource": {"resourceType": "Observation"},
                },
            ],
        },
    ],
)
@responses.activate
def test_a_write_bundle_is_never_retried(client, sleeps, bundle):
    responses.add(responses.POST, BASE, status=503, headers={"Retry-After": "1"})
    with pytest.raises(FhirUnavailable):
        client.transaction(bundle)
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_a_create_is_never_retried_on_429(client, sleeps):
    responses.add(responses.POST, f"{BASE}/Observation", status=429, headers={"Retry-After": "1"})
    with pytest.raises(FhirUnavailable):
        client.create({"resourceType": "Observation"}, if_none_exist="identifier=a|b")
    assert len(responses.calls) == 1
