"""FHIR JSON of the synthetic demo patients: a Patient and its Condition per seed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fhir_rehab import codes as c
from fhir_rehab.resources.wire import Resource, concept


@dataclass(frozen=True)
class SeedSpec:
    """One synthetic patient: who they are and the Condition that makes them (not) eligible."""

    key: str
    given: str
    family: str
    gender: str
    birth_date: str
    code: c.Code
    verification: str
    note: str


def build_seed_patient(spec: SeedSpec, run: str) -> Resource:
    """A synthetic Patient, tagged with its seed run and identified by `run.key`."""
    return {
        "resourceType": "Patient",
        "identifier": [{"system": c.SEED_IDENTIFIER, "value": f"{run}.{spec.key}"}],
        "meta": {"tag": [{"system": c.RUN_TAG, "code": run}]},
        "name": [{"given": [spec.given], "family": spec.family}],
        "gender": spec.gender,
        "birthDate": spec.birth_date,
    }


def build_seed_condition(spec: SeedSpec, run: str, patient_ref: str) -> Resource:
    """The synthetic patient's Condition (its code and verification status decide eligibility)."""
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
