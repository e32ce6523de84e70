"""What a FHIR REST request needs from the granted scopes, and the patient compartment. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ehr_sandbox.auth.scopes import Access, access_for
from ehr_sandbox.errors import AccessDenied, UnsupportedRequest

Params = tuple[tuple[str, str], ...]

# Search parameters that tie a search to one patient (SMART "patient-level scopes").
PATIENT_PARAMS = frozenset({"patient", "subject", "for"})
# Elements whose reference puts a resource in a patient's compartment (R4 CompartmentDefinition
# "patient", the ones this app's resources use).
PATIENT_ELEMENTS = ("subject", "patient", "for", "beneficiary")
VERBS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")


@dataclass(frozen=True)
class Interaction:
    """One REST interaction: kind is c, r, u, d or s; `batch` for a Bundle posted to the base."""

    kind: str
    resource_type: str | None
    resource_id: str | None = None
    params: Params = ()
    compartment: str | None = None  # the Patient id of a compartment search Patient/x/Type

    @property
    def conditional(self) -> bool:
        """A conditional update or delete (criteria instead of an id)."""
        return self.kind in ("u", "d") and self.resource_id is None


def classify_request(method: str, path: str, params: Iterable[tuple[str, str]] = ()) -> Interaction:
    """Name the interaction of a request on `[base]/path`.

    >>> classify_request("GET", "Condition", [("patient", "1")]).kind
    's'
    >>> classify_request("PUT", "Task/7")
    Interaction(kind='u', resource_type='Task', resource_id='7', params=(), compartment=None)
    >>> classify_request("GET", "Patient/1/Condition").compartment
    '1'
    >>> classify_request("POST", "").kind
    'batch'
    """
    method = "GET" if method.upper() == "HEAD" else method.upper()
    segs = [s for s in path.split("/") if s]
    query: Params = tuple(params)
    if not segs:
        if method == "POST":
            return Interaction("batch", None)
        return Interaction("s", "*", params=query)
    rtype = segs[0]
    if not _TYPE.match(rtype):
        raise UnsupportedRequest(f"The sandbox proxy does not support {method} /{segs[0]}.")
    if len(segs) == 1:
        kind = {"GET": "s", "POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}.get(method)
        if kind is None:
            raise UnsupportedRequest(f"{method} is not supported on [base]/{rtype}.")
        return Interaction(kind, rtype, params=query)
    second = segs[1]
    if len(segs) == 2:
        if second in ("_search", "_history") or (second.startswith("$") and method == "GET"):
            return Interaction("s", rtype, params=query)
        if second.startswith("$"):
            return Interaction("c", rtype, params=query)
        kind = {"GET": "r", "PUT": "u", "PATCH": "u", "DELETE": "d"}.get(method)
        if kind is None:
            raise UnsupportedRequest(f"{method} is not supported on [base]/{rtype}/[id].")
        return Interaction(kind, rtype, second)
    third = segs[2]
    if third == "_history" and method == "GET" and len(segs) <= 4:
        return Interaction("r", rtype, second)
    if third.startswith("$") and len(segs) == 3:
        return Interaction("r" if method == "GET" else "u", rtype, second)
    if rtype == "Patient" and len(segs) == 3 and method == "GET" and _TYPE.match(third):
        return Interaction("s", third, params=query, compartment=second)
    raise UnsupportedRequest(f"The sandbox proxy does not support {method} /{path}.")


def classify_entry(entry: dict[str, Any], base: str) -> Interaction:
    """The interaction of one transaction or batch entry (its `request`).

    >>> classify_entry({"request": {"method": "POST", "url": "CarePlan"}}, "http://x/fhir").kind
    'c'
    >>> classify_entry({"request": {"method": "GET", "url": "http://x/fhir/Task?for=1"}},
    ...                "http://x/fhir").params
    (('for', '1'),)
    >>> classify_entry({"request": {"method": "GET", "url": "Task?identifier=https://a|b"}},
    ...                "http://x/fhir").params
    (('identifier', 'https://a|b'),)
    """
    request = entry.get("request") or {}
    url = str(request.get("url") or "")
    if url.startswith(base.rstrip("/") + "/"):
        url = url[len(base.rstrip("/")) + 1 :]
    elif "://" in url.split("?")[0]:  # a query may carry URLs (token systems): not a target
        raise AccessDenied("A Bundle entry points outside this FHIR server.")
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    return classify_request(str(request.get("method") or "GET"), parts.path, params)


def authorize_interaction(interaction: Interaction, scopes: Sequence[str], patient_id: str | None) -> Access:
    """Check the scopes (and, for patient-only access, the search criteria); raise AccessDenied.

    >>> authorize_interaction(classify_request("GET", "Condition", [("patient", "1")]),
    ...                       ["patient/Condition.rs"], "1")
    <Access.PATIENT: 'patient'>
    >>> authorize_interaction(classify_request("GET", "Condition"), ["patient/Condition.rs"], "1")
    ... # doctest: +IGNORE_EXCEPTION_DETAIL, +ELLIPSIS
    Traceback (most recent call last):
    AccessDenied: A patient-level search must be restricted to the launch patient ...
    """
    rtype = interaction.resource_type or "*"
    access = access_for(scopes, rtype, interaction.kind)
    if access is None:
        raise AccessDenied(f"The granted scopes do not allow {VERBS[interaction.kind]} on {rtype}.")
    if access is Access.PATIENT:
        if patient_id is None:
            raise AccessDenied("Patient-level scopes need a patient in the launch context.")
        if interaction.kind == "s" or interaction.conditional:
            check_search(rtype, interaction.params, patient_id, interaction.compartment)
        if rtype == "Patient" and interaction.resource_id not in (None, patient_id):
            raise AccessDenied("Patient-level scopes only reach the launch patient.")
    return access


def check_search(
    resource_type: str, params: Iterable[tuple[str, str]], patient_id: str, compartment: str | None = None
) -> None:
    """A patient-level search must name the launch patient, and only that patient.

    >>> check_search("Task", [("for", "Patient/1"), ("status", "ready")], "1")
    >>> check_search("Patient", [("_id", "2")], "1")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    AccessDenied: Patient-level scopes only reach the launch patient.
    """
    if compartment is not None:
        if compartment != patient_id:
            raise AccessDenied("Patient-level scopes only reach the launch patient.")
        return
    names = {"_id"} if resource_type == "Patient" else PATIENT_PARAMS
    values = [value for name, value in params if name.split(":")[0] in names]
    if not values:
        where = "_id=" if resource_type == "Patient" else "patient=, subject= or for="
        raise AccessDenied(f"A patient-level search must be restricted to the launch patient ({where}).")
    for value in values:
        for item in value.split(","):
            if reference_patient_id(item, bare_ids=True) != patient_id:
                raise AccessDenied("Patient-level scopes only reach the launch patient.")


def reference_patient_id(reference: str, *, bare_ids: bool = False) -> str | None:
    """The Patient id a reference points to; None when it is not a resolvable Patient reference.

    >>> reference_patient_id("Patient/1"), reference_patient_id("http://x/fhir/Patient/1/_history/2")
    ('1', '1')
    >>> reference_patient_id("Group/1") is None, reference_patient_id("Patient?identifier=a|b")
    (True, None)
    >>> reference_patient_id("7", bare_ids=True)
    '7'
    """
    path = reference.split("?")[0].split("#")[0]
    parts = [p for p in urlsplit(path).path.split("/") if p] if "://" in path else path.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "Patient" and parts[i + 1]:
            return parts[i + 1]
    if bare_ids and len(parts) == 1 and parts[0] and "?" not in reference:
        return parts[0]
    return None


def patient_references(resource: dict[str, Any]) -> list[str]:
    """The literal references of a resource's patient elements that point at a Patient.

    >>> patient_references({"resourceType": "Task", "for": {"reference": "Patient/1"},
    ...                     "owner": {"reference": "Practitioner/2"}})
    ['Patient/1']
    >>> patient_references({"resourceType": "Observation", "subject": {"reference": "Group/3"}})
    []
    """
    refs = []
    for element in PATIENT_ELEMENTS:
        values = resource.get(element)
        for value in values if isinstance(values, list) else [values]:
            ref = value.get("reference") if isinstance(value, dict) else None
            if isinstance(ref, str) and ("Patient/" in ref or ref.startswith("Patient?")):
                refs.append(ref)
    return refs


def check_resource(resource: Any, patient_id: str) -> None:
    """Refuse a resource (or every resource in a Bundle) outside the launch patient's compartment.

    >>> check_resource({"resourceType": "Condition", "subject": {"reference": "Patient/1"}}, "1")
    >>> check_resource({"resourceType": "Patient", "id": "2"}, "1")
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    AccessDenied: This resource belongs to another patient.
    """
    if not isinstance(resource, dict):
        return
    rtype = resource.get("resourceType")
    if rtype == "Bundle":
        for entry in resource.get("entry") or []:
            check_resource(entry.get("resource"), patient_id)
        return
    if rtype == "Patient":
        if resource.get("id") != patient_id:
            raise AccessDenied("This resource belongs to another patient.")
        return
    for ref in patient_references(resource):
        if reference_patient_id(ref) != patient_id:
            raise AccessDenied("This resource belongs to another patient.")


def check_patch(operations: Any) -> None:
    """Under patient-level scopes a JSON Patch may not move a resource to another patient.

    >>> check_patch([{"op": "replace", "path": "/status", "value": "completed"}])
    >>> check_patch([{"op": "replace", "path": "/subject/reference", "value": "Patient/2"}])
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    AccessDenied: A patient-level patch may not change the patient.
    """
    if not isinstance(operations, list):
        raise AccessDenied("Only JSON Patch can be checked under patient-level scopes.")
    for op in operations:
        path = str(op.get("path", "")) if isinstance(op, dict) else ""
        if path.split("/")[1:2] and path.split("/")[1] in (*PATIENT_ELEMENTS, "id"):
            raise AccessDenied("A patient-level patch may not change the patient.")


# What a patient's own token may never change: the plan the care team wrote, its Tasks
# (stages and reviews) and its Goals. A patient adds their own reports (Observations) and may
# ask the care team for something (a new Task in status "requested"), nothing more.
CARE_TEAM_RESOURCES = frozenset({"CarePlan", "Task", "Goal", "PlanDefinition", "ActivityDefinition"})


def check_patient_user(interaction: Interaction, access: Access, body: Any) -> None:
    """Refuse what a signed-in patient may not do, whatever scopes were granted.

    >>> check_patient_user(classify_request("POST", "Observation"), Access.PATIENT, {})
    >>> check_patient_user(classify_request("PUT", "Task/1"), Access.PATIENT, {})
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    AccessDenied: A patient cannot change the care plan, its tasks or reviews.
    >>> check_patient_user(classify_request("POST", "Task"), Access.PATIENT, {"status": "cancelled"})
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    AccessDenied: A patient can only ask the care team for something (a requested task).
    """
    if access is not Access.PATIENT:
        raise AccessDenied("A patient's access reaches their own record only.")
    rtype = interaction.resource_type or ""
    if rtype not in CARE_TEAM_RESOURCES or interaction.kind in ("r", "s"):
        return
    if interaction.kind == "c" and rtype == "Task":
        if not isinstance(body, dict) or body.get("status") != "requested":
            raise AccessDenied("A patient can only ask the care team for something (a requested task).")
        return
    raise AccessDenied("A patient cannot change the care plan, its tasks or reviews.")
