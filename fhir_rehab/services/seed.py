"""Synthetic demo patients: eligible by ICD-10-CM, eligible by SNOMED, not eligible, refuted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.resources.bundle import Transaction, identifier_criteria, read_transaction_response
from fhir_rehab.resources.wire import Resource, concept


@dataclass(frozen=True)
class SeedSpec:
    key: str
    given: str
    family: str
    gender: str
    birth_date: str
    code: c.Code
    verification: str
    note: str


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


def _patient(spec: SeedSpec, run: str) -> Resource:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": c.SEED_IDENTIFIER, "value": f"{run}.{spec.key}"}],
        "meta": {"tag": [{"system": c.RUN_TAG, "code": run}]},
        "name": [{"given": [spec.given], "family": spec.family}],
        "gender": spec.gender,
        "birthDate": spec.birth_date,
    }


def _condition(spec: SeedSpec, run: str, patient_ref: str) -> Resource:
    return {
        "resourceType": "Condition",
        "identifier": [{"system": c.SEED_IDENTIFIER, "value": f"{run}.{spec.key}.condition"}],
        "meta": {"tag": [{"system": c.RUN_TAG, "code": run}]},
        "clinicalStatus": {"coding": [{"system": c.CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": c.CONDITION_VERIFICATION, "code": spec.verification}]},
        "code": concept(spec.code),
        "subject": {"reference": patient_ref},
        "recordedDate": date.today().isoformat(),
    }


def seed_demo_patients(client: FhirClient, run: str = "demo") -> list[SeededPatient]:
    """Write the synthetic patients in one transaction; a rerun with the same `run` finds them."""
    tx = Transaction()
    for spec in SEEDS:
        ident = f"{run}.{spec.key}"
        patient = tx.create(_patient(spec, run), if_none_exist=identifier_criteria(c.SEED_IDENTIFIER, ident))
        tx.create(
            _condition(spec, run, patient),
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
