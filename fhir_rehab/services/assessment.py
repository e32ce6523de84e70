"""Record a baseline assessment (or a re-assessment): one transaction, idempotent per form."""

from __future__ import annotations

from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.assessment import Assessment
from fhir_rehab.resources.assessment import build_assessment, build_assessment_panel, build_odi_panel
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import RecordView
from fhir_rehab.resources.wire import Resource
from fhir_rehab.services.record import commit_reading_back
from fhir_rehab.services.writes import WriteResult, add_provenance, utcnow


def _create(tx: Transaction, resource: Resource) -> str:
    key = resource["identifier"][0]["value"]
    return tx.create(resource, if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, key))


def record_assessment(
    client: FhirClient,
    patient_id: str,
    assessment: Assessment,
    actor: Actor,
    submission_id: str,
    now: datetime | None = None,
    *,
    read_after: RecordView | None = None,
) -> WriteResult:
    """Members, the Oswestry panel over its sections, the assessment panel and Provenance.

    Every entry is created only if its submission identifier is new, so a double submit
    writes nothing twice. Nothing here depends on the record (it only adds), so nothing is
    read first; `read_after` reads the record back in the same transaction (`.after`).
    """
    now = now or utcnow()
    members, sections = build_assessment(assessment, patient_id, actor, now, submission_id)
    tx = Transaction()
    section_refs = [_create(tx, s) for s in sections]
    member_refs = []
    odi_ref = None
    for member in members:
        urn = _create(tx, member)
        member_refs.append(urn)
        if member["code"]["coding"][0]["code"] == c.LOINC_ODI_SCORE.code:
            odi_ref = urn
    if section_refs:
        member_refs.append(
            _create(tx, build_odi_panel(section_refs, odi_ref, patient_id, actor, now, submission_id))
        )
    panel = _create(tx, build_assessment_panel(member_refs, patient_id, actor, now, submission_id))
    add_provenance(
        tx,
        [panel, *member_refs, *section_refs],
        actor,
        now,
        c.OPERATION_CREATE,
        f"{submission_id}.provenance",
    )
    return commit_reading_back(client, tx, patient_id, read_after)
