"""CDS Hooks prefetch: the templates the service asks for, and checking what a client sends.

CDS Hooks 2.0 "Prefetch Template": each value is a FHIR read or search with the prefetch token
`{{context.patientId}}`; the client sends each result under its key, `null` when it has no
data, and leaves a key out when it did not (or could not) fetch it. The service checks each
value against its template and reads what is missing itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.fhir.compartment import WrongPatientError, check_belongs, iter_resources
from fhir_rehab.program.lifecycle import OPEN_STATUSES
from fhir_rehab.resources.errors import UnusablePrefetch
from fhir_rehab.resources.wire import Resource

PATIENT_TOKEN = "{{context.patientId}}"  # noqa: S105 - a prefetch token, not a secret
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_OPEN_REVIEW = ",".join(s for s in sorted(OPEN_STATUSES) if s != "draft")
_P = PATIENT_TOKEN

# Key -> template. Only the recommended subset (reads, type searches on the patient, token
# equality, _count, _sort) except `_include` on the screens, which brings each screen's answers.
PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": f"Patient/{_P}",
    "conditions": f"Condition?patient={_P}&clinical-status=active,recurrence,relapse&_count=100",
    "carePlans": f"CarePlan?patient={_P}&identifier={c.EPISODE_IDENTIFIER}|&_count=20",
    "stageTasks": f"Task?patient={_P}&identifier={c.TASK_IDENTIFIER}|&_count=100",
    "reviewTasks": (
        f"Task?patient={_P}&code={c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}&status={_OPEN_REVIEW}&_count=50"
    ),
    "painScores": f"Observation?patient={_P}&code={c.LOINC}|{c.LOINC_PAIN_0_10.code}&_sort=-date&_count=20",
    "redFlagScreens": (
        f"Observation?patient={_P}&code={c.APP_CODES}|{c.APP_RED_FLAG_PANEL.code}"
        "&_sort=-date&_count=5&_include=Observation:has-member"
    ),
}
# What each key may hold (besides OperationOutcome entries a server adds to a searchset).
_TYPES: dict[str, frozenset[str]] = {
    "patient": frozenset({"Patient"}),
    "conditions": frozenset({"Condition"}),
    "carePlans": frozenset({"CarePlan"}),
    "stageTasks": frozenset({"Task"}),
    "reviewTasks": frozenset({"Task"}),
    "painScores": frozenset({"Observation"}),
    "redFlagScreens": frozenset({"Observation"}),
}


def is_fhir_id(value: Any) -> bool:
    """A FHIR resource id (R4 `id` datatype).

    >>> is_fhir_id("abc-1.2"), is_fhir_id("a/b"), is_fhir_id(""), is_fhir_id(7)
    (True, False, False, False)
    """
    return isinstance(value, str) and FHIR_ID.fullmatch(value) is not None


def fill_template(template: str, patient_id: str) -> str:
    """A template with the patient's id in place of the prefetch token.

    >>> fill_template("Patient/{{context.patientId}}", "p1")
    'Patient/p1'
    """
    if not is_fhir_id(patient_id):
        raise ValueError("not a FHIR id")
    return template.replace(PATIENT_TOKEN, patient_id)


def prefetch_queries(patient_id: str, keys: list[str] | None = None) -> dict[str, str]:
    """The filled-in query of each key (all keys unless `keys` names some)."""
    return {
        key: fill_template(template, patient_id)
        for key, template in PREFETCH_TEMPLATES.items()
        if keys is None or key in keys
    }


@dataclass
class Prefetch:
    """The prefetched resources by key, which keys must still be read, and why some were not used."""

    resources: dict[str, list[Resource]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # key -> reason (for the log)

    def all_resources(self) -> list[Resource]:
        return [r for key in PREFETCH_TEMPLATES for r in self.resources.get(key, [])]


def check_prefetch(prefetch: Any, patient_id: str) -> Prefetch:
    """Sort the client's prefetch into usable keys and keys to read from the FHIR server.

    A key is usable when it is `null` (no data) or holds what its template returns for this
    patient: a Patient with this id, or a complete searchset (no `next` link) of the expected
    types, every resource in the patient's compartment. Anything else is not trusted and read
    again, so a wrong or partial prefetch never becomes a card.
    """
    given = prefetch if isinstance(prefetch, Mapping) else {}
    out = Prefetch()
    for key in PREFETCH_TEMPLATES:
        if key not in given:
            out.missing.append(key)
            continue
        try:
            out.resources[key] = _read_value(key, given[key], patient_id)
        except _Unusable as reason:
            out.refused[key] = str(reason)
            out.missing.append(key)
    return out


def read_value(key: str, value: Any, patient_id: str) -> list[Resource]:
    """The resources of one key's value (raises UnusablePrefetch, a ValueError, when it is not usable)."""
    try:
        return _read_value(key, value, patient_id)
    except _Unusable as reason:
        raise UnusablePrefetch(str(reason)) from None


class _Unusable(UnusablePrefetch):
    """Raised inside the reader; re-raised without its traceback as UnusablePrefetch."""


def _read_value(key: str, value: Any, patient_id: str) -> list[Resource]:
    if value is None:
        if key == "patient":
            raise _Unusable("the patient cannot be null")
        return []
    if not isinstance(value, dict):
        raise _Unusable("not a JSON object")
    allowed = _TYPES[key]
    if key == "patient":
        found = [value]
    else:
        if value.get("resourceType") != "Bundle" or value.get("type") != "searchset":
            raise _Unusable("not a searchset Bundle")
        if any(isinstance(link, dict) and link.get("relation") == "next" for link in value.get("link") or []):
            raise _Unusable("only the first page (a next link)")
        found = [
            entry["resource"]
            for entry in value.get("entry") or []
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        ]
        found = [r for r in found if r.get("resourceType") != "OperationOutcome"]
    for resource in found:
        if resource.get("resourceType") not in allowed or not is_fhir_id(resource.get("id")):
            raise _Unusable(f"holds a {resource.get('resourceType')!s:.40} resource")
        try:
            for item in iter_resources(resource):
                check_belongs(item, patient_id)
        except WrongPatientError:
            raise _Unusable("holds a resource of another patient") from None
    return found
