"""The sandbox EHR's clinic and visits: an EHR launch happens during a visit, so it carries an
encounter whose serviceProvider is the clinic (an Organization with a name and a phone number).

Created in the backing FHIR server on first use and found again by identifier afterwards.
"""

from __future__ import annotations

from typing import Any

from fhir_rehab.fhir.client import FhirClient

IDENTIFIER_SYSTEM = "https://fhir-rehab.example/ehr-sandbox/id"
CLINIC_KEY = "sandbox-clinic"
CLINIC_NAME = "Riverside Physiotherapy (sandbox)"
CLINIC_PHONE = "020 7946 0123"


def _ensure(client: FhirClient, resource: dict[str, Any], key: str) -> str:
    """The id of the resource with identifier `key`; found, else created (conditionally)."""
    criteria = f"{IDENTIFIER_SYSTEM}|{key}"
    rtype = resource["resourceType"]
    for entry in client.search(rtype, {"identifier": criteria, "_count": "1"}).get("entry") or []:
        found = entry.get("resource") or {}
        if found.get("resourceType") == rtype and found.get("id"):
            return str(found["id"])
    resource = {**resource, "identifier": [{"system": IDENTIFIER_SYSTEM, "value": key}]}
    created = client.create(resource, if_none_exist=f"identifier={criteria}")
    if created.body and created.body.get("id"):
        return str(created.body["id"])
    return (created.location or "").split(f"{rtype}/")[1].split("/")[0]


def ensure_clinic(client: FhirClient) -> str:
    """The sandbox clinic's Organization id."""
    clinic = {
        "resourceType": "Organization",
        "active": True,
        "name": CLINIC_NAME,
        "telecom": [{"system": "phone", "value": CLINIC_PHONE, "use": "work"}],
    }
    return _ensure(client, clinic, CLINIC_KEY)


def ensure_visit(client: FhirClient, patient_id: str) -> str:
    """Today's outpatient visit for the patient at the sandbox clinic (one per patient)."""
    clinic = ensure_clinic(client)
    visit = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "serviceProvider": {"reference": f"Organization/{clinic}", "display": CLINIC_NAME},
    }
    return _ensure(client, visit, f"visit-{patient_id}")
