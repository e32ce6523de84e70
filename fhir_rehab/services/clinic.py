"""The clinic the handout names: the clinic's own settings, else the Organization the EHR gives.

What SMART launch context realistically gives: the patient, the user (`fhirUser`) and, for a
launch from a visit, the encounter (Epic and Oracle Health launches from a visit carry one).
The clinic is the encounter's `serviceProvider` (the organization responsible for the visit);
without an encounter, the `organization` of a PractitionerRole user. A Practitioner user has no
organization of its own, and Patient.managingOrganization is the record's custodian, often not
the clinic, so neither is used. Nothing found, or not readable with the granted scopes: the
handout prints no contact line (the settings are the way to set one).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError
from fhir_rehab.fhir.ids import is_fhir_id

log = logging.getLogger(__name__)
MAX_NAME, MAX_PHONE = 120, 40


@dataclass(frozen=True)
class ClinicContact:
    name: str
    phone: str


def _local_id(reference: object, resource_type: str) -> str | None:
    """The id in a relative `Type/id` reference from the server; anything else is ignored.

    >>> _local_id({"reference": "Organization/o-1"}, "Organization")
    'o-1'
    >>> _local_id({"reference": "https://x/Organization/1"}, "Organization") is None
    True
    """
    value = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(value, str) or not value.startswith(f"{resource_type}/"):
        return None
    rid = value[len(resource_type) + 1 :]
    return rid if is_fhir_id(rid) else None


def _printable(value: object, limit: int) -> str:
    """A short single line of plain text (control characters dropped), or ""."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(ch for ch in value if ch.isprintable()).split())
    return text if len(text) <= limit else ""


def contact_of(organization: Mapping[str, Any]) -> ClinicContact | None:
    """Name and phone (a work phone first) of an Organization, or None without a name.

    >>> contact_of({"name": "Riverside", "telecom": [
    ...     {"system": "email", "value": "a@b"},
    ...     {"system": "phone", "value": "020 1", "use": "home"},
    ...     {"system": "phone", "value": "020 2", "use": "work"},
    ... ]})
    ClinicContact(name='Riverside', phone='020 2')
    """
    name = _printable(organization.get("name"), MAX_NAME)
    if not name:
        return None
    phones = [
        t for t in organization.get("telecom") or [] if isinstance(t, Mapping) and t.get("system") == "phone"
    ]
    phones.sort(key=lambda t: t.get("use") != "work")
    phone = next((p for p in (_printable(t.get("value"), MAX_PHONE) for t in phones) if p), "")
    return ClinicContact(name, phone)


def clinic_contact(
    client: FhirClient, *, settings: Mapping[str, Any], encounter_id: str | None, fhir_user: str | None
) -> ClinicContact | None:
    """The settings' contact when set; else the launch encounter's serviceProvider; else a
    PractitionerRole user's organization; else None. Read errors leave the contact out."""
    name, phone = str(settings.get("CLINIC_NAME") or ""), str(settings.get("CLINIC_PHONE") or "")
    if name or phone:
        return ClinicContact(name, phone)
    try:
        organization_id = None
        if encounter_id and is_fhir_id(encounter_id):
            organization_id = _local_id(
                client.read("Encounter", encounter_id).get("serviceProvider"), "Organization"
            )
        if organization_id is None and fhir_user and fhir_user.startswith("PractitionerRole/"):
            role_id = fhir_user.split("/", 1)[1]
            if is_fhir_id(role_id):
                role = client.read("PractitionerRole", role_id)
                organization_id = _local_id(role.get("organization"), "Organization")
        if organization_id is None:
            return None
        return contact_of(client.read("Organization", organization_id))
    except FhirError as exc:
        log.info("no clinic contact from the EHR (%s)", type(exc).__name__)
        return None


def clinic_searches(*, patient_id: str, encounter_id: str | None, fhir_user: str | None) -> list[str]:
    """The searches that find the clinic with its Organization included (`_include`), in the
    order clinic_contact tries them, to go into a batch the page makes anyway (clinic_in).
    The encounter's names the patient: a patient-level scope searches only their compartment."""
    searches = []
    if encounter_id and is_fhir_id(encounter_id) and is_fhir_id(patient_id):
        searches.append(
            f"Encounter?_id={encounter_id}&patient={patient_id}&_include=Encounter:service-provider"
        )
    role_id = fhir_user.split("/", 1)[1] if fhir_user and fhir_user.startswith("PractitionerRole/") else ""
    if is_fhir_id(role_id):
        searches.append(f"PractitionerRole?_id={role_id}&_include=PractitionerRole:organization")
    return searches


def clinic_in(answers: Sequence[Mapping[str, Any] | None]) -> ClinicContact | None:
    """The clinic from the answers to clinic_searches: the first that names an Organization
    that came with it. None when none does (a server without `_include`, a search refused):
    clinic_contact then reads them one by one.

    >>> visit = {"resourceType": "Encounter", "serviceProvider": {"reference": "Organization/o"}}
    >>> clinic = {"resourceType": "Organization", "id": "o", "name": "Riverside"}
    >>> clinic_in([None, {"entry": [{"resource": visit}, {"resource": clinic}]}])
    ClinicContact(name='Riverside', phone='')
    >>> clinic_in([{"entry": [{"resource": visit}]}]) is None  # not included: read it instead
    True
    """
    for bundle in answers:
        found = [e.get("resource") or {} for e in (bundle or {}).get("entry") or []]
        for named in (r for r in found if r.get("resourceType") in ("Encounter", "PractitionerRole")):
            element = "serviceProvider" if named["resourceType"] == "Encounter" else "organization"
            org_id = _local_id(named.get(element), "Organization")
            organization = next(
                (r for r in found if r.get("resourceType") == "Organization" and r.get("id") == org_id), None
            )
            if org_id and organization is not None:
                return contact_of(organization)
    return None
