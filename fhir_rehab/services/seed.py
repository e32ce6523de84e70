"""Synthetic demo patients: eligible by ICD-10-CM, eligible by SNOMED, not eligible, refuted."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.resources.bundle import Transaction, identifier_criteria, read_transaction_response
from fhir_rehab.resources.seed import SeedSpec, build_seed_condition, build_seed_patient

SEEDS = (
    SeedSpec(
        "eligible-icd10",
        "Alex",
        "Morgan",
        "female",
        "1978-04-12",
        c.ICD_LUMBAGO_SCIATICA_RIGHT,
        "confirmed",
        "eligible by ICD-10-CM M54.41",
    ),
    SeedSpec(
        "eligible-snomed",
        "Sam",
        "Okafor",
        "male",
        "1985-09-30",
        c.SCT_SCIATICA,
        "confirmed",
        "eligible by SNOMED CT 23056005",
    ),
    SeedSpec(
        "not-eligible",
        "Jordan",
        "Lee",
        "other",
        "1969-01-05",
        c.ICD_LOW_BACK_PAIN,
        "confirmed",
        "not eligible: low back pain without sciatica",
    ),
    SeedSpec(
        "refuted",
        "Riley",
        "Novak",
        "female",
        "1991-11-21",
        c.ICD_SCIATICA_RIGHT,
        "refuted",
        "not eligible: sciatica Condition refuted",
    ),
)


@dataclass(frozen=True)
class SeededPatient:
    key: str
    patient_id: str
    condition_id: str
    name: str
    note: str


def seed_demo_patients(client: FhirClient, run: str = "demo") -> list[SeededPatient]:
    """Write the synthetic patients in one transaction; a rerun with the same `run` finds them."""
    tx = Transaction()
    for spec in SEEDS:
        ident = f"{run}.{spec.key}"
        patient = tx.create(
            build_seed_patient(spec, run), if_none_exist=identifier_criteria(c.SEED_IDENTIFIER, ident)
        )
        tx.create(
            build_seed_condition(spec, run, patient),
            if_none_exist=identifier_criteria(c.SEED_IDENTIFIER, f"{ident}.condition"),
        )
    bundle = tx.bundle()
    written = read_transaction_response(bundle, client.transaction(bundle))
    out = []
    for index, spec in enumerate(SEEDS):
        patient_row, condition_row = written[2 * index], written[2 * index + 1]
        out.append(
            SeededPatient(
                spec.key, patient_row.id, condition_row.id, f"{spec.given} {spec.family}", spec.note
            )
        )
    return out
