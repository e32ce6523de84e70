"""A FHIR client that refuses to send or accept data outside the launch patient's compartment."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from fhir_rehab.fhir.client import FhirClient, FhirResponse, Resource
from fhir_rehab.fhir.errors import FhirNotFound, WrongPatientError

# Resources outside any patient compartment: definitions, people and places, containers.
NON_PATIENT_TYPES = frozenset(
    {
        "PlanDefinition",
        "ActivityDefinition",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "OperationOutcome",
        "Provenance",
        "Bundle",
        "CapabilityStatement",
        "CodeSystem",
        "ValueSet",
        "ConceptMap",
        "Questionnaire",
        "StructureDefinition",
        "SearchParameter",
        "OperationDefinition",
        "Library",
        "Location",
        "Medication",
        "HealthcareService",
        "Endpoint",
    }
)
# The element that must name the patient, per type (R4 patient compartment definition).
REQUIRED_LINK = {
    "Condition": "subject",
    "Observation": "subject",
    "CarePlan": "subject",
    "Goal": "subject",
    "Procedure": "subject",
    "Task": "for",
}
# Elements that, when present and pointing at a Patient, must point at the launch patient.
PATIENT_LINKS = ("patient", "subject", "for", "beneficiary")
_PATCH_LINK_PATH = re.compile(r"^/(subject|for|patient|beneficiary)(/|$)")


class PatientCompartmentClient(FhirClient):
    """A FhirClient bound to one patient: every resource sent or returned must be theirs.

    Checked: the body of every write (each entry of a transaction or batch Bundle, and
    `contained` resources), every response body (each Bundle entry), and the current version
    of a resource before a DELETE (direct or in a Bundle; conditional deletes are refused).
    A PUT is checked by its body and answer, not by the version it replaces. Other types
    must name the patient through `patient`, `subject`, `for` or `beneficiary`; a resource of
    an unknown type naming no patient is refused (fail closed). A violation raises
    WrongPatientError before the data is used.
    """

    def __init__(self, base_url: str, patient_id: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        if not patient_id:
            raise ValueError("patient_id is required")
        self.patient_id = patient_id

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> FhirResponse:
        method = method.upper()
        if method == "PATCH":
            check_patch(json)
        elif isinstance(json, dict):
            self.check_resource(json)
        if method == "DELETE":
            self._check_delete_target(path_or_url, params)
        elif isinstance(json, dict) and json.get("resourceType") == "Bundle":
            for url in bundle_delete_urls(json):
                self._check_delete_target(url, None)
        response = super().request(method, path_or_url, params=params, json=json, headers=headers)
        if isinstance(response.body, dict):
            self.check_resource(response.body)
        return response

    def check_resource(self, resource: Resource) -> None:
        """Raise WrongPatientError unless `resource` (and all it carries) is the patient's."""
        for item in iter_resources(resource):
            check_belongs(item, self.patient_id, base_url=self.base_url)

    def _check_delete_target(self, path_or_url: str, params: Any) -> None:
        path = self.url_for(path_or_url)[len(self.base_url) :].strip("/")
        parts = path.split("/")
        if params or "?" in path or len(parts) != 2:
            raise WrongPatientError("Conditional or bulk deletes are refused in a patient launch.")
        if parts[0] in NON_PATIENT_TYPES:
            return
        try:
            current = super().request("GET", path)
        except FhirNotFound:
            return
        if isinstance(current.body, dict):
            self.check_resource(current.body)


def bundle_delete_urls(bundle: Resource) -> list[str]:
    """The `request.url` of every DELETE entry of a transaction or batch Bundle.

    >>> bundle_delete_urls({"entry": [{"request": {"method": "DELETE", "url": "Task/1"}}]})
    ['Task/1']
    """
    urls = []
    for entry in bundle.get("entry") or []:
        request = entry.get("request") if isinstance(entry, dict) else None
        if isinstance(request, dict) and str(request.get("method", "")).upper() == "DELETE":
            urls.append(str(request.get("url") or ""))
    return urls


def iter_resources(resource: Resource) -> Iterator[Resource]:
    """The resource, its `contained` resources and, for a Bundle, every entry's resource."""
    yield resource
    for contained in resource.get("contained") or []:
        if isinstance(contained, dict):
            yield from iter_resources(contained)
    if resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry") or []:
            inner = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(inner, dict):
                yield from iter_resources(inner)


def check_belongs(resource: Resource, patient_id: str, *, base_url: str = "") -> None:
    """Raise WrongPatientError unless this one resource is in the patient's compartment.

    >>> check_belongs({"resourceType": "Condition", "subject": {"reference": "Patient/p1"}}, "p1")
    >>> check_belongs({"resourceType": "Task", "for": {"reference": "Patient/p2"}}, "p1")
    Traceback (most recent call last):
    fhir_rehab.fhir.errors.WrongPatientError: Task.for does not reference the launch patient.
    """
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise WrongPatientError("A resource without a resourceType was refused.")
    if rtype in NON_PATIENT_TYPES:
        return
    if rtype == "Patient":
        if resource.get("id") != patient_id:
            raise WrongPatientError("A Patient other than the launch patient was refused.")
        return
    required = REQUIRED_LINK.get(rtype)
    if required and not is_patient_reference(resource.get(required), patient_id, base_url):
        raise WrongPatientError(f"{rtype}.{required} does not reference the launch patient.")
    linked = False
    for element in PATIENT_LINKS:
        value = resource.get(element)
        if value is None:
            continue
        if element == "patient" or element == required or _names_a_patient(value):
            if not is_patient_reference(value, patient_id, base_url):
                raise WrongPatientError(f"{rtype}.{element} does not reference the launch patient.")
            linked = True
    if not linked:
        raise WrongPatientError(f"A {rtype} that names no patient was refused.")


def is_patient_reference(value: Any, patient_id: str, base_url: str = "") -> bool:
    """True for a Reference to `Patient/<patient_id>` (relative, versioned or on our base).

    >>> is_patient_reference({"reference": "Patient/p1/_history/2"}, "p1")
    True
    >>> is_patient_reference({"reference": "urn:uuid:5f0c"}, "p1")
    False
    >>> is_patient_reference({"reference": "http://other/fhir/Patient/p1"}, "p1", "http://me")
    False
    """
    if not isinstance(value, dict):
        return False
    ref = value.get("reference")
    if not isinstance(ref, str):
        return False
    if base_url and ref.startswith(base_url.rstrip("/") + "/"):
        ref = ref[len(base_url.rstrip("/")) + 1 :]
    match = re.fullmatch(r"Patient/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?", ref)
    return match is not None and match.group(1) == patient_id


def check_patch(operations: Any) -> None:
    """Refuse a JSON Patch that would move a resource to another subject or patient.

    >>> check_patch([{"op": "replace", "path": "/status", "value": "completed"}])
    >>> check_patch([{"op": "replace", "path": "/for/reference", "value": "Patient/x"}])
    Traceback (most recent call last):
    fhir_rehab.fhir.errors.WrongPatientError: A patch may not change who a resource is about.
    """
    if operations is None:
        return
    if not isinstance(operations, list):
        raise WrongPatientError("Only JSON Patch bodies are accepted in a patient launch.")
    for op in operations:
        paths = [op.get("path"), op.get("from")] if isinstance(op, dict) else [None]
        if any(
            not isinstance(p, str) or _PATCH_LINK_PATH.match(p)
            for p in paths[:1] + [p for p in paths[1:] if p is not None]
        ):
            raise WrongPatientError("A patch may not change who a resource is about.")


def _names_a_patient(value: Any) -> bool:
    """A Reference (or list of them) that points at a Patient in any form."""
    values = value if isinstance(value, list) else [value]
    for item in values:
        if not isinstance(item, dict):
            continue
        ref = str(item.get("reference") or "")
        if item.get("type") == "Patient" or "Patient/" in ref or ref.startswith(("urn:", "#")):
            return True
    return False
