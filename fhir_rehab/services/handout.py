"""File the handout PDF in the EHR as a DocumentReference, with Provenance, idempotently."""

from __future__ import annotations

from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.handout import build_handout_document
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.writes import WriteResult, add_provenance, commit, utcnow


def file_handout(
    client: FhirClient,
    pdf: bytes,
    *,
    patient_id: str,
    care_plan_id: str | None,
    stage_title: str,
    actor: Actor,
    key: str,
    now: datetime | None = None,
) -> WriteResult:
    now = now or utcnow()
    tx = Transaction()
    document = build_handout_document(
        pdf,
        patient_id=patient_id,
        care_plan_id=care_plan_id,
        stage_title=stage_title,
        actor=actor,
        now=now,
        key=key,
    )
    ref = tx.create(document, if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, key))
    add_provenance(tx, [ref], actor, now, c.OPERATION_CREATE, f"{key}.provenance")
    return commit(client, tx)
