"""Transaction Bundles: urn:uuid references, conditional creates, If-Match updates, reads that
see the writes, results."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from fhir_rehab.resources.codecheck import check_codes
from fhir_rehab.resources.narrative import with_narrative
from fhir_rehab.resources.wire import Resource, new_urn, to_wire


def identifier_criteria(system: str, value: str) -> str:
    """The ifNoneExist criteria for a business identifier (the body must carry it too)."""
    return f"identifier={system}|{value}"


@dataclass
class Transaction:
    """Builds one atomic transaction. Every resource is code-checked and model-validated.

    `read()` adds GET entries: R4 processes a transaction's GETs after its writes (http.html
    #trules), and HAPI runs them once the writes are committed (BaseTransactionProcessor
    .processTransaction), so they answer with the state the write left: the page shown after
    a write comes in the same round trip. They go last, after every write entry.
    """

    entries: list[dict[str, Any]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)

    def create(
        self, resource: Resource, *, if_none_exist: str | None = None, full_url: str | None = None
    ) -> str:
        """Add a POST; returns the entry's urn:uuid, usable as a reference in other entries."""
        urn = full_url or new_urn()
        request: dict[str, str] = {"method": "POST", "url": resource["resourceType"]}
        if if_none_exist:
            request["ifNoneExist"] = if_none_exist
        self.entries.append({"fullUrl": urn, "resource": resource, "request": request})
        return urn

    def update(self, resource: Resource, *, if_match: str | None) -> str:
        """Add a PUT of an existing resource; `if_match` is its version id (None: unconditional)."""
        path = f"{resource['resourceType']}/{resource['id']}"
        request: dict[str, str] = {"method": "PUT", "url": path}
        if if_match is not None:
            request["ifMatch"] = f'W/"{if_match}"'
        self.entries.append({"fullUrl": path, "resource": resource, "request": request})
        return path

    def patch(self, resource_type: str, resource_id: str, operations: list[dict[str, Any]]) -> str:
        """Add a PATCH of an existing resource: a JSON Patch document (resources.patch) in a
        Binary, as R4 carries one in a transaction (http.html#patch; HAPI reads the Binary's
        contentType, BaseTransactionProcessor). No `ifMatch`: the document tests the version
        itself (HAPI 5-6 read a PATCH entry's ifMatch as a match URL: hapi-fhir issue 3575)."""
        path = f"{resource_type}/{resource_id}"
        data = base64.b64encode(json.dumps(operations, separators=(",", ":")).encode()).decode()
        binary = {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data}
        self.entries.append(
            {"fullUrl": path, "resource": binary, "request": {"method": "PATCH", "url": path}}
        )
        return path

    def read(self, url: str) -> int:
        """Add a GET (a read or a search, relative to the base) answered after the writes;
        returns its position among the reads (`WriteResult.reads`)."""
        self.reads.append(url)
        return len(self.reads) - 1

    def bundle(self) -> Resource:
        """The transaction Bundle, each resource checked before anything is sent and its
        generated narrative rebuilt from what it now says; the reads last."""
        entries = []
        for entry in self.entries:
            check_codes(entry["resource"])
            entries.append({**entry, "resource": to_wire(with_narrative(entry["resource"]))})
        entries += [{"request": {"method": "GET", "url": url}} for url in self.reads]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class Written:
    """One entry of a transaction response: where the resource now lives and what happened."""

    resource_type: str
    id: str
    version: str | None
    status: str
    resource: Resource | None

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.id}"

    @property
    def created(self) -> bool:
        return self.status.startswith("201")


def read_transaction_response(request: Resource, response: Resource) -> list[Written]:
    """Pair each response entry with its request (same order, per the spec) and parse it."""
    out = []
    for sent, got in zip(request.get("entry") or [], response.get("entry") or [], strict=False):
        if "resource" not in sent:  # a read (Transaction.read): see read_answers
            continue
        answer = got.get("response") or {}
        resource = got.get("resource")
        location = answer.get("location") or ""
        rtype, rid, version = _parse_location(location)
        if resource and resource.get("id"):
            rtype, rid = resource["resourceType"], resource["id"]
            version = (resource.get("meta") or {}).get("versionId") or version
        rtype = rtype or sent["resource"]["resourceType"]
        out.append(Written(rtype, rid or "", version, answer.get("status", ""), resource))
    return out


def _parse_location(location: str) -> tuple[str | None, str | None, str | None]:
    """`.../Patient/1/_history/2` -> ('Patient', '1', '2').

    >>> _parse_location("http://x/fhir/Task/abc/_history/3")
    ('Task', 'abc', '3')
    >>> _parse_location("Task/abc")
    ('Task', 'abc', None)
    """
    parts = [p for p in location.split("/") if p]
    version = None
    if len(parts) >= 2 and parts[-2] == "_history":
        version = parts[-1]
        parts = parts[:-2]
    if len(parts) >= 2:
        return parts[-2], parts[-1], version
    return None, None, None
