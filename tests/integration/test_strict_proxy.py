"""The strict test profile does what a default HAPI server does (tests/support/strict_proxy.py)."""

from __future__ import annotations

import uuid

import pytest
import requests

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirConflict, FhirError, FhirInvalid, FhirNotFound
from tests.support.profiles import ProfileServer

H = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}


@pytest.fixture
def strict(strict_fhir_server: ProfileServer) -> ProfileServer:
    return strict_fhir_server


@pytest.fixture
def client(strict: ProfileServer) -> FhirClient:
    return FhirClient(strict.base_url, backoff=0.0, timeout=10)


def patient(client: FhirClient, family: str) -> dict:
    return client.create({"resourceType": "Patient", "name": [{"family": family}]}).body or {}


def test_identical_searches_are_cached_unless_no_cache(strict, client):
    family = f"Cache{uuid.uuid4().hex[:8]}"
    url = f"{strict.base_url}/Patient"
    before = requests.get(url, params={"family": family}, headers=H, timeout=10).json()
    patient(client, family)
    cached = requests.get(url, params={"family": family}, headers=H, timeout=10).json()
    fresh = requests.get(
        url, params={"family": family}, headers={**H, "Cache-Control": "no-cache"}, timeout=10
    )
    assert not before.get("entry") and not cached.get("entry")  # the write is not seen for 60 s
    assert len(fresh.json()["entry"]) == 1


def test_batch_entries_inherit_the_batch_cache_control(strict, client):
    family = f"Batch{uuid.uuid4().hex[:8]}"
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"Patient?family={family}"}}],
    }
    requests.post(strict.base_url, json=batch, headers=H, timeout=10)
    patient(client, family)
    cached = requests.post(strict.base_url, json=batch, headers=H, timeout=10).json()
    assert not cached["entry"][0]["resource"].get("entry")
    fresh = client.transaction(batch)  # the app's client sends Cache-Control: no-cache
    assert len(fresh["entry"][0]["resource"]["entry"]) == 1


def test_stale_if_match_is_409_and_total_is_left_out(strict, client):
    created = patient(client, "Version")
    client.update({**created, "active": True}, if_match="1")
    with pytest.raises(FhirConflict) as stale:
        client.update({**created, "active": False}, if_match="1")
    assert stale.value.status == 409
    page = client.search("Patient", {"_id": created["id"]})
    assert "total" not in page
    assert client.search("Patient", {"_id": created["id"], "_total": "accurate"})["total"] == 1


def test_count_is_capped_and_pages_expire(strict, client):
    family = f"Page{uuid.uuid4().hex[:8]}"
    for _ in range(strict.proxy.max_page_size + 5):
        patient(client, family)
    first = client.search("Patient", {"family": family, "_count": "500"})
    assert len(first["entry"]) == strict.proxy.max_page_size
    assert (
        len(client.search_all("Patient", {"family": family, "_count": "500"}))
        == strict.proxy.max_page_size + 5
    )
    nxt = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "_getpages=" in nxt
    strict.proxy.expire_searches()
    with pytest.raises(FhirNotFound) as gone:
        client.next_page(first)
    assert gone.value.status == 410


@pytest.mark.parametrize(
    "params, status",
    [({"owner:missing": "true"}, 405), ({"colour": "blue"}, 400), ({"owner": "Practitioner/1"}, 200)],
)
def test_unknown_parameters_and_missing_are_refused(client, params, status):
    if status == 200:
        assert client.search("Task", params)["resourceType"] == "Bundle"
        return
    with pytest.raises(FhirError) as refused:
        client.search("Task", params)
    assert refused.value.status == status


def test_dangling_references_and_deleting_referenced_resources_are_refused(client):
    with pytest.raises(FhirInvalid, match="Practitioner/nobody not found"):
        client.create(
            {"resourceType": "Patient", "generalPractitioner": [{"reference": "Practitioner/nobody"}]}
        )
    owner = patient(client, "Referenced")
    client.create(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": f"Patient/{owner['id']}"},
        }
    )
    with pytest.raises(FhirConflict, match="at least one resource has a reference"):
        client.delete("Patient", owner["id"])


def test_a_conditional_create_matching_two_is_412(client):
    key = uuid.uuid4().hex
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:test", "value": key}]}
    client.create(body)
    client.create(body)
    with pytest.raises(FhirConflict) as refused:
        client.create(body, if_none_exist=f"identifier=urn:test|{key}")
    assert refused.value.status == 412
