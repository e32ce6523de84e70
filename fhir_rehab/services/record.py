"""Read everything the app needs about one patient in a single batch round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient, error_for
from fhir_rehab.program.eligibility import ConditionFact
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState
from fhir_rehab.resources.state import parse_conditions, parse_program_state
from fhir_rehab.services.errors import PatientNotFound

Resource = dict[str, Any]
SCREENS_ENTRY = 2  # index of the red-flag screens search in the batch (see _record_queries)
MAX_PAGES = 50  # per search: 50 pages of even 20 is more than any one patient's program holds
_OPEN = "requested,received,accepted,ready,in-progress,on-hold"


@dataclass
class PatientRecord:
    """The patient, their Conditions and every program resource, indexed by `Type/id`."""

    patient_id: str
    patient: Resource
    resources: list[Resource]
    submission_hits: list[Resource] = field(default_factory=list)

    def find(self, reference: str) -> Resource | None:
        for resource in self.resources:
            if f"{resource.get('resourceType')}/{resource.get('id')}" == reference:
                return resource
        return None

    def get(self, reference: str) -> Resource:
        found = self.find(reference)
        if found is None:
            raise KeyError(reference)
        return found

    def refs(self) -> list[str]:
        return sorted({f"{r['resourceType']}/{r['id']}" for r in self.resources})

    def conditions(self) -> list[ConditionFact]:
        return parse_conditions(self.resources)

    def state(self, program: Program) -> ProgramState:
        return parse_program_state(program, self.patient_id, self.resources)


def _get(url: str) -> Resource:
    return {"request": {"method": "GET", "url": url}}


def _record_queries(
    p: str, *, conditions: bool, screens: int, goals: bool, open_reviews_only: bool
) -> list[Resource]:
    goal_include = "&_include=CarePlan:goal" if goals else ""
    review_status = f"&status={_OPEN}" if open_reviews_only else ""
    queries = [
        _get(f"Patient/{p}"),
        _get(
            f"CarePlan?patient={p}&identifier={c.EPISODE_IDENTIFIER}|"
            f"{goal_include}&_revinclude=Task:based-on&_count=20"
        ),
        _get(
            f"Observation?patient={p}&code={c.APP_CODES}|{c.APP_RED_FLAG_PANEL.code}"
            f"&_sort=-date,-_lastUpdated&_count={screens}&_include=Observation:has-member"
        ),
        _get(
            f"Observation?patient={p}&code={c.LOINC}|{c.LOINC_PAIN_0_10.code},"
            f"{c.LOINC}|{c.LOINC_ODI_SCORE.code}&_sort=-date&_count=100"
        ),
        _get(f"Task?patient={p}&code={c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}{review_status}&_count=50"),
    ]
    if conditions:
        queries.append(_get(f"Condition?patient={p}&_count=100"))
    return queries


def build_record_batch(
    patient_id: str,
    submission_id: str | None = None,
    *,
    conditions: bool = True,
    screens: int = 1,
    goals: bool = True,
    open_reviews_only: bool = True,
) -> Resource:
    """The batch: patient, program with Goals and Tasks, the latest `screens` red-flag screens,
    scores, reviews (open ones only, or all), Conditions, and (with `submission_id`) that
    submission if it was already recorded (a double submit). A coordinator's view leaves out
    Conditions and, without Goal scopes, the Goals."""
    entries = _record_queries(
        patient_id, conditions=conditions, screens=screens, goals=goals, open_reviews_only=open_reviews_only
    )
    if submission_id:
        entries.append(
            _get(f"Observation?identifier={c.SUBMISSION_IDENTIFIER}|{submission_id}&patient={patient_id}")
        )
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def read_patient_record(
    client: FhirClient, patient_id: str, submission_id: str | None = None, **view: Any
) -> PatientRecord:
    """One batch request (`view`: see build_record_batch); raises PatientNotFound, or the
    FHIR error of any failed entry."""
    batch = build_record_batch(patient_id, submission_id, **view)
    response = client.transaction(batch)
    entries = response.get("entry") or []
    first = entries[0] if entries else {}
    status = str((first.get("response") or {}).get("status", ""))
    if not status.startswith("2") or not first.get("resource"):
        raise PatientNotFound(f"Patient {patient_id} was not found on the FHIR server.")
    resources: list[Resource] = []
    hits: list[Resource] = []
    for index, entry in enumerate(entries[1:], start=1):
        answer = entry.get("response") or {}
        status = str(answer.get("status", ""))
        if not status.startswith("2"):
            code = int(status.split()[0]) if status[:3].isdigit() else 500
            raise error_for(
                "GET",
                client.url_for(batch["entry"][index]["request"]["url"].split("?")[0]),
                code,
                answer.get("outcome"),
            )
        bundle = entry.get("resource") or {}
        # Every page, except of the screens search: it asks for the latest few on purpose.
        found = _all_pages(client, bundle, max_pages=1 if index == SCREENS_ENTRY else MAX_PAGES)
        is_submission = submission_id is not None and index == len(batch["entry"]) - 1
        (hits if is_submission else resources).extend(found)
    return PatientRecord(patient_id, first["resource"], _dedupe(resources), hits)


def _all_pages(client: FhirClient, bundle: Resource, max_pages: int = MAX_PAGES) -> list[Resource]:
    """Every resource of a searchset, following its `next` links to the end: a server may cap
    `_count` (HAPI does) and page what the app asked for in one page."""
    out: list[Resource] = []
    page: Resource | None = bundle
    for _ in range(max_pages):
        if page is None:
            break
        out += [e["resource"] for e in page.get("entry") or [] if "resource" in e]
        page = client.next_page(page)
    return out


def read_by_ids(client: FhirClient, resource_type: str, ids: list[str]) -> list[Resource]:
    """Several resources of one type in one batch round trip (missing ones are left out)."""
    if not ids:
        return []
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [_get(f"{resource_type}/{rid}") for rid in ids],
    }
    return [
        entry["resource"]
        for entry in client.transaction(batch).get("entry") or []
        if str((entry.get("response") or {}).get("status", "")).startswith("2") and entry.get("resource")
    ]


def _dedupe(resources: list[Resource]) -> list[Resource]:
    seen: dict[str, Resource] = {}
    for resource in resources:
        seen[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
    return list(seen.values())
