"""Committing a write: one transaction with its Provenance, conflicts mapped to StaleVersion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirConflict
from fhir_rehab.resources.bundle import Transaction, Written, read_transaction_response
from fhir_rehab.resources.provenance import Actor, build_provenance, provenance_criteria
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
    """The Provenance of this transaction, created at most once for `write_key`."""
    tx.create(
        build_provenance(targets, actor, now, activity=activity, write_key=write_key),
        if_none_exist=provenance_criteria(write_key),
    )


def commit(client: FhirClient, tx: Transaction) -> WriteResult:
    """Send the transaction; a stale If-Match anywhere (409 or 412) fails it whole."""
    bundle = tx.bundle()
    try:
        response = client.transaction(bundle)
    except FhirConflict as exc:
        raise StaleVersion() from exc
    return WriteResult(tuple(read_transaction_response(bundle, response)))
