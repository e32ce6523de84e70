"""What the FHIR server says it can do (its CapabilityStatement), checked against what the app needs.

The app writes a program as one transaction, reads a patient record as one batch, makes retries
safe with conditional creates (`ifNoneExist`), and reads Goals and stage Tasks through
`_include`/`_revinclude`. A server that lacks one of these would give a silent wrong answer (a
half-written program, a double write, a program without its stages), so a launch stops first
with a message saying what is missing. Only what a CapabilityStatement states explicitly counts
as missing: a server that says nothing about an element is given the benefit of the doubt.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

# What the app uses (R4 CapabilityStatement.rest): interactions, types it creates
# conditionally, and the includes of its reads, each with the plain words for a person.
NEEDED_INTERACTIONS = {
    "transaction": "saving several changes together (FHIR transactions)",
    "batch": "reading several things in one request (FHIR batches)",
}
CONDITIONAL_CREATES = ("CarePlan", "Task", "Goal", "Observation", "Provenance")
NEEDED_INCLUDES = {
    ("CarePlan", "searchRevInclude", "Task:based-on"): "finding a program's stages (_revinclude)",
    ("Observation", "searchInclude", "Observation:has-member"): "reading a screen's answers (_include)",
}


@dataclass(frozen=True)
class ServerCapabilities:
    """The parts of a CapabilityStatement the app depends on (None: the statement is silent)."""

    interactions: frozenset[str] | None
    resources: Mapping[str, Mapping[str, Any]]

    def missing(self) -> list[str]:
        """What the server explicitly lacks, in plain words; empty when all is there.

        >>> ServerCapabilities(frozenset({"batch"}), {}).missing()
        ['saving several changes together (FHIR transactions)']
        """
        out = []
        if self.interactions is not None:
            out += [words for code, words in NEEDED_INTERACTIONS.items() if code not in self.interactions]
        for rtype in CONDITIONAL_CREATES:
            if self.resources.get(rtype, {}).get("conditionalCreate") is False:
                out.append(f"recognising a repeated save of a {rtype} (conditional create)")
        for (rtype, element, value), words in NEEDED_INCLUDES.items():
            listed = self.resources.get(rtype, {}).get(element)
            if isinstance(listed, list) and listed and value not in listed and "*" not in listed:
                out.append(words)
        return out


def parse_capabilities(statement: Any) -> ServerCapabilities:
    """The server-mode `rest` entry of a CapabilityStatement (a missing one says nothing).

    >>> caps = parse_capabilities({"rest": [{"mode": "server", "interaction": [{"code": "batch"}],
    ...     "resource": [{"type": "Task", "conditionalCreate": False}]}]})
    >>> caps.missing()[1]
    'recognising a repeated save of a Task (conditional create)'
    """
    rests = [r for r in (statement or {}).get("rest") or [] if isinstance(r, dict)]
    rest = next((r for r in rests if r.get("mode") == "server"), rests[0] if rests else {})
    listed = rest.get("interaction")
    interactions = (
        frozenset(str(i.get("code")) for i in listed if isinstance(i, dict))
        if isinstance(listed, list)
        else None
    )
    resources = {
        str(r.get("type")): r for r in rest.get("resource") or [] if isinstance(r, dict) and r.get("type")
    }
    return ServerCapabilities(interactions, resources)


def fetch_capabilities(base_url: str, *, http: requests.Session, timeout: float) -> ServerCapabilities:
    """GET [base]/metadata (public, no token); an unreadable statement is treated as silent."""
    try:
        response = http.get(
            f"{base_url.rstrip('/')}/metadata",
            headers={"Accept": "application/fhir+json"},
            timeout=timeout,
            allow_redirects=False,
        )
        statement = response.json() if response.ok else None
    except (requests.RequestException, ValueError):
        statement = None
    if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
        return ServerCapabilities(None, {})
    return parse_capabilities(statement)


class CapabilityCache:
    """CapabilityStatements per FHIR base, kept `ttl` seconds: read at most once per launch."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, ServerCapabilities]] = {}
        self._lock = threading.Lock()

    def get(
        self, base_url: str, *, now: float, ttl: float, http: requests.Session, timeout: float
    ) -> ServerCapabilities:
        with self._lock:
            entry = self._entries.get(base_url)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        found = fetch_capabilities(base_url, http=http, timeout=timeout)
        with self._lock:
            self._entries[base_url] = (now, found)
        return found
