"""The patient-view hook: gather the patient's data (prefetch first, one batch for the rest)
and answer with cards."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError
from fhir_rehab.program.model import Program
from fhir_rehab.resources.cds_prefetch import Prefetch, check_prefetch, prefetch_queries, read_value
from fhir_rehab.resources.errors import InvalidResource
from fhir_rehab.resources.wire import Resource
from fhir_rehab.services.cds_cards import Card, CardContext, build_cards
from fhir_rehab.services.errors import PatientDataUnavailable

log = logging.getLogger(__name__)


def gather_resources(patient_id: str, prefetch: Any, client: FhirClient | None) -> Prefetch:
    """The patient's resources: each usable prefetch key as sent, every other key read from
    the FHIR server in ONE batch. Without a client (no fhirServer/fhirAuthorization, or one not
    allowed) a missing key raises PatientDataUnavailable: a card is never built on partial data."""
    checked = check_prefetch(prefetch, patient_id)
    for key, reason in checked.refused.items():
        log.info("cds prefetch key %s not used: %s", key, reason)
    if not checked.missing:
        return checked
    if client is None:
        raise PatientDataUnavailable(
            "Prefetch incomplete (" + ", ".join(checked.missing) + ") and no FHIR server access was given."
        )
    fetched = read_batch(client, prefetch_queries(patient_id, checked.missing))
    for key, value in fetched.items():
        try:
            checked.resources[key] = read_value(key, value, patient_id)
        except ValueError as error:
            raise PatientDataUnavailable(
                f"The FHIR server's answer for {key} is not usable: {error}"
            ) from None
    checked.missing = []
    return checked


def read_batch(client: FhirClient, queries: Mapping[str, str]) -> dict[str, Resource | None]:
    """Each query's answer (a resource or searchset), in one batch round trip."""
    keys = list(queries)
    try:
        answers = client.batch([queries[key] for key in keys])
    except FhirError as error:
        raise PatientDataUnavailable(
            f"The FHIR server could not be read ({error.status or 'no answer'})."
        ) from None
    return dict(zip(keys, answers, strict=True))


def answer_patient_view(
    patient_id: str, prefetch: Any, client: FhirClient | None, ctx: CardContext, program: Program
) -> list[Card]:
    """The cards for one patient-view call."""
    gathered = gather_resources(patient_id, prefetch, client)
    try:
        return build_cards(gathered.all_resources(), ctx, program)
    except InvalidResource as error:
        raise PatientDataUnavailable(f"A resource could not be read: {error}") from None
