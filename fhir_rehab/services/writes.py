"""Committing a write: one transaction with its Provenance, conflicts mapped to StaleVersion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirConflict
from fhir_rehab.resources.bundle import Transaction, Written, read_transaction_response
from fhir_rehab.resources.provenance import (
    Actor,
    build_provenance,
    build_service_provenance,
    provenance_criteria,
)
from fhir_rehab.services.errors import StaleVersion


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the resources it wrote (or found already written), as `Type/id`."""

    written: tuple[Written, ...]

    @property
    def refs(self) -> list[str]:
        return [w.ref for w in self.written]

    @property
    def created(self) -> list[str]:
        return [w.ref for w in self.written if w.created]


def add_provenance(
    tx: Transaction, targets: list[str], actor: Actor, now: datetime, activity: c.Code, write_key: str
) -> None:
    """The Provenance of this transaction, created at most once for `write_key`.

    Its targets also name the Patient the written resources are about: Provenance belongs to a
    patient's compartment only through a target that is the Patient (R4 compartmentdefinition-
    patient: Provenance.patient is `target.where(resolve() is Patient)`), so patient-level
    searches and $everything exports find it.
    """
    targets = [*targets, *(p for p in patients_of(tx) if p not in targets)]
    tx.create(
        build_provenance(targets, actor, now, activity=activity, write_key=write_key),
        if_none_exist=provenance_criteria(write_key),
    )


def add_service_provenance(
    tx: Transaction,
    targets: list[str],
    client_id: str,
    on_behalf_of: Actor,
    source: str,
    now: datetime,
    activity: c.Code,
    write_key: str,
) -> None:
    """The Provenance of a write the app made as itself (Backend Services), on someone's
    behalf, caused by `source`; in the patient's compartment like add_provenance's."""
    targets = [*targets, *(p for p in patients_of(tx) if p not in targets)]
    tx.create(
        build_service_provenance(
            targets, client_id, on_behalf_of, source, now, activity=activity, write_key=write_key
        ),
        if_none_exist=provenance_criteria(write_key),
    )


def patients_of(tx: Transaction) -> list[str]:
    """`Patient/<id>` of every Patient the transaction's resources are about (subject or for)."""
    found: list[str] = []
    for entry in tx.entries:
        resource = entry.get("resource") or {}
        for element in ("subject", "for", "patient"):
            reference = str((resource.get(element) or {}).get("reference", ""))
            if reference.startswith("Patient/") and reference not in found:
                found.append(reference)
    return found


def commit(client: FhirClient, tx: Transaction) -> WriteResult:
    """Send the transaction; a stale If-Match anywhere (409 or 412) fails it whole."""
    bundle = tx.bundle()
    try:
        response = client.transaction(bundle)
    except FhirConflict as exc:
        raise StaleVersion() from exc
    return WriteResult(tuple(read_transaction_response(bundle, response)))
