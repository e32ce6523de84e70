"""Publish the program definition (PlanDefinition, ActivityDefinitions) and the red-flag screen
Questionnaire to a FHIR server."""

from __future__ import annotations

import re

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.model import Program
from fhir_rehab.resources.bundle import Transaction, Written, read_transaction_response
from fhir_rehab.resources.definitions import build_definitions
from fhir_rehab.resources.questionnaire import build_screen_questionnaire
from fhir_rehab.resources.wire import Resource


def definition_id(resource: Resource) -> str:
    """A stable id from the canonical URL's last segment and the version (FHIR id rules).

    >>> definition_id({"url": "https://x/fhir/PlanDefinition/sciatica-physiotherapy",
    ...                "version": "1.0.0"})
    'sciatica-physiotherapy-1.0.0'
    """
    tail = resource["url"].rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9\-.]", "-", f"{tail}-{resource['version']}")[:64]


def publish_definitions(client: FhirClient, program: Program) -> list[Written]:
    """PUT every definition at its stable id in one transaction: a rerun changes nothing new."""
    tx = Transaction()
    for resource in [*build_definitions(program), build_screen_questionnaire(publisher=program.publisher)]:
        tx.update({**resource, "id": definition_id(resource)}, if_match=None)
    bundle = tx.bundle()
    return read_transaction_response(bundle, client.transaction(bundle))
