"""The sandbox EHR's one user: a Practitioner in the backing FHIR server, created once and reused."""

from __future__ import annotations

from fhir_rehab.fhir.client import FhirClient

# Under the app's canonical base (fhir_rehab.codes.CANONICAL_BASE): an identifier we own.
USER_IDENTIFIER_SYSTEM = "https://fhir-rehab.org/fhir/identifier/sandbox-user"
USER_IDENTIFIER_VALUE = "sandbox-practitioner"


def build_practitioner() -> dict[str, object]:
    """The sandbox user as an R4 Practitioner."""
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": USER_IDENTIFIER_SYSTEM, "value": USER_IDENTIFIER_VALUE}],
        "active": True,
        "name": [{"use": "official", "family": "Practitioner", "given": ["Sandbox"],
                  "text": "Sandbox Practitioner"}],
    }


def ensure_practitioner(client: FhirClient) -> str:
    """The id of the sandbox Practitioner; found by identifier, else created (conditionally)."""
    criteria = f"{USER_IDENTIFIER_SYSTEM}|{USER_IDENTIFIER_VALUE}"
    found = client.search("Practitioner", {"identifier": criteria, "_count": "1"})
    for entry in found.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Practitioner" and resource.get("id"):
            return str(resource["id"])
    created = client.create(build_practitioner(), if_none_exist=f"identifier={criteria}")
    if created.body and created.body.get("id"):
        return str(created.body["id"])
    location = created.location or ""
    return location.split("Practitioner/")[1].split("/")[0]
