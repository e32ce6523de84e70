"""Publish what other systems need to read the app's records: the program definition
(PlanDefinition, ActivityDefinitions) and the app's own CodeSystems and ValueSets.

A published version is never overwritten with different content: a definition already on the
server at the same version must be identical (then it is left alone), otherwise nothing is
written and the message names what differs (publish a new version instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.model import Program
from fhir_rehab.resources.bundle import Transaction, Written, read_transaction_response
from fhir_rehab.resources.definitions import build_definitions
from fhir_rehab.resources.narrative import with_narrative
from fhir_rehab.resources.questionnaire import build_screen_questionnaire
from fhir_rehab.resources.terminology import build_terminology
from fhir_rehab.resources.wire import Resource, to_wire
from fhir_rehab.services.errors import ServiceError

# Everything `publish` writes; add a builder here to publish more (e.g. the screen's Questionnaire).
PUBLISHED: tuple[Callable[[Program], list[Resource]], ...] = (
    build_definitions,
    lambda program: build_terminology(program.version, program.publisher),
    lambda program: [build_screen_questionnaire(publisher=program.publisher)],  # the red-flag screen
)
_SERVER_SET = ("id", "meta", "text")  # set by the server or regenerated: not content


class PublishedVersionDiffers(ServiceError):
    """Refused: a definition at this version is already published with other content."""

    user_message = "A definition is already published at this version with different content."


@dataclass(frozen=True)
class Published:
    written: list[Written]
    unchanged: list[str]  # `Type/id` already published with the same content


def definition_id(resource: Resource) -> str:
    """A stable id from the canonical URL's last segment and the version (FHIR id rules).

    >>> definition_id({"url": "https://x/fhir/PlanDefinition/sciatica-physiotherapy",
    ...                "version": "1.0.0"})
    'sciatica-physiotherapy-1.0.0'
    """
    tail = resource["url"].rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9\-.]", "-", f"{tail}-{resource['version']}")[:64]


def content(resource: Resource) -> Resource:
    """What a definition says, without what the server or the narrative adds."""
    return {k: v for k, v in resource.items() if k not in _SERVER_SET}


def publishable(program: Program) -> list[Resource]:
    """Every resource `publish` writes, at its stable id, as it goes on the wire."""
    return [
        to_wire(with_narrative({**resource, "id": definition_id(resource)}))
        for build in PUBLISHED
        for resource in build(program)
    ]


def publish_definitions(client: FhirClient, program: Program) -> Published:
    """Write what is not published yet, in one transaction; identical ones are left alone."""
    resources = publishable(program)
    paths = [f"{r['resourceType']}/{r['id']}" for r in resources]
    existing = client.batch(paths, missing_ok=True)
    differs = [
        f"{r['resourceType']} {r['url']} version {r['version']}"
        for r, found in zip(resources, existing, strict=True)
        if found is not None and content(found) != content(r)
    ]
    if differs:
        raise PublishedVersionDiffers(
            "Already published with different content (nothing was written; give the program "
            "a new version to publish these changes): " + "; ".join(differs)
        )
    tx = Transaction()
    unchanged = []
    for resource, path, found in zip(resources, paths, existing, strict=True):
        if found is None:
            tx.update(resource, if_match=None)
        else:
            unchanged.append(path)
    if not len(tx):
        return Published([], unchanged)
    bundle = tx.bundle()
    return Published(read_transaction_response(bundle, client.transaction(bundle)), unchanged)
