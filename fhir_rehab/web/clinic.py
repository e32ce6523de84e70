"""The clinic the handout names, found once per launch and kept with the session.

The EHR names it through the launch's encounter (or a PractitionerRole user): services.clinic.
The first record read of a launch asks for it in the same batch (`clinic_lookups`, then
`remember_clinic`), so printing the handout later needs no request of its own for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app, session

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.scopes import PATIENT_LEVELS, grants
from fhir_rehab.services.clinic import ClinicContact, clinic_contact, clinic_in, clinic_searches

# [the launch it was found for, name, phone]
CLINIC_KEY = "handout_clinic"


def _from_ehr() -> bool:
    """Whether the clinic comes from the EHR (the settings name none)."""
    settings = current_app.config
    return not (settings.get("CLINIC_NAME") or settings.get("CLINIC_PHONE"))


def _whose(launch: LaunchContext) -> str:
    return f"{launch.iss}|{launch.encounter_id}|{launch.fhir_user}"


def _kept(launch: LaunchContext) -> ClinicContact | None:
    kept = session.get(CLINIC_KEY)
    if isinstance(kept, list) and len(kept) == 3 and kept[0] == _whose(launch):
        return ClinicContact(str(kept[1]), str(kept[2]))
    return None


def _keep(launch: LaunchContext, clinic: ClinicContact | None) -> None:
    """Keep a clinic found (nothing found, or not readable, is looked up again)."""
    if clinic is not None:
        session[CLINIC_KEY] = [_whose(launch), clinic.name, clinic.phone]


def clinic_lookups(launch: LaunchContext) -> list[str]:
    """The searches to add to a record read while this launch's clinic is not known yet; only
    those the launch's scopes allow (an EHR may refuse a whole batch for one entry out of
    scope, and the record read must never fail for the handout's contact line)."""
    if not _from_ehr() or _kept(launch) is not None:
        return []
    searches = clinic_searches(
        patient_id=launch.patient_id or "", encounter_id=launch.encounter_id, fhir_user=launch.fhir_user
    )
    return [url for url in searches if _may_search(launch, url.split("?", 1)[0])]


def _may_search(launch: LaunchContext, resource_type: str) -> bool:
    """Whether the launch may search `resource_type` and read the Organization it includes."""
    return grants(launch.scopes, resource_type, "s", PATIENT_LEVELS) and grants(
        launch.scopes, "Organization", "r", PATIENT_LEVELS
    )


def remember_clinic(launch: LaunchContext, answers: Mapping[str, Any], lookups: Sequence[str]) -> None:
    """Keep the clinic the answers to `clinic_lookups` name, if they do."""
    if lookups:
        _keep(launch, clinic_in([answers.get(url) for url in lookups]))


def clinic_for(launch: LaunchContext, client: FhirClient) -> ClinicContact | None:
    """The clinic's contact for this launch: the settings', else the one kept for the launch,
    else looked up now (services.clinic.clinic_contact) and kept when found."""
    if _from_ehr():
        kept = _kept(launch)
        if kept is not None:
            return kept
    clinic = clinic_contact(
        client, settings=current_app.config, encounter_id=launch.encounter_id, fhir_user=launch.fhir_user
    )
    if _from_ehr():
        _keep(launch, clinic)
    return clinic
