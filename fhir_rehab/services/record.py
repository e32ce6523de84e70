"""Read everything the app needs about one patient in a single batch round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError, FhirNotFound
from fhir_rehab.program.adherence import ExerciseSession
from fhir_rehab.program.eligibility import ConditionFact
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.activity import parse_sessions
from fhir_rehab.resources.bundle import Transaction
from fhir_rehab.resources.queries import RecordView
from fhir_rehab.resources.state import parse_conditions, parse_program_state
from fhir_rehab.services.errors import PatientNotFound
from fhir_rehab.services.writes import WriteResult

Resource = dict[str, Any]
MAX_PAGES = 50  # per search: 50 pages of even 20 is more than any one patient's program holds


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

    def sessions(self) -> tuple[ExerciseSession, ...]:
        """The home exercise sessions the patient logged, oldest first."""
        return parse_sessions(self.resources)


def read_patient_record(
    client: FhirClient, patient_id: str, submission_id: str | None = None, view: RecordView = q.CLINICIAN_VIEW
) -> PatientRecord:
    """One batch request (`view`: what it covers); with `submission_id`, also that submission if it
    was already recorded (a double submit). Raises PatientNotFound, or the FHIR error of any
    failed entry (the same as a plain read's: 401, 403, ...)."""
    urls = q.patient_record(patient_id, view)
    if submission_id:
        urls.append(q.submission(patient_id, submission_id))
    try:
        answers = client.batch(urls)
    except FhirNotFound as error:
        _patient_missing(client, patient_id, error)
        raise
    return _record_from(client, patient_id, answers, bool(submission_id))


@dataclass(frozen=True)
class RecordReads:
    """Where a patient record's reads sit among a transaction's reads (`Transaction.read`)."""

    patient_id: str
    first: int
    count: int


def read_record_after(tx: Transaction, patient_id: str, view: RecordView = q.CLINICIAN_VIEW) -> RecordReads:
    """Add the reads of the patient record to a write: the transaction answers them after its
    writes (resources.bundle.Transaction), so the page after the write needs no other request."""
    urls = q.patient_record(patient_id, view)
    first = len(tx.reads)
    for url in urls:
        tx.read(url)
    return RecordReads(patient_id, first, len(urls))


def record_after(client: FhirClient, reads: RecordReads, write: WriteResult) -> PatientRecord:
    """The patient record as the write left it, from the transaction's own answers (further
    pages of a long search, if the server paged one, are followed)."""
    answers = list(write.reads[reads.first : reads.first + reads.count])
    if len(answers) != reads.count:
        raise FhirError("The FHIR server left out the reads of a transaction.")
    if answers[0] is None:
        raise PatientNotFound(f"Patient {reads.patient_id} was not found on the FHIR server.")
    return _record_from(client, reads.patient_id, answers, False)


def _patient_missing(client: FhirClient, patient_id: str, error: FhirNotFound) -> None:
    if error.url == client.url_for(q.patient(patient_id)):
        raise PatientNotFound(f"Patient {patient_id} was not found on the FHIR server.") from None


def _record_from(
    client: FhirClient, patient_id: str, answers: list[Resource | None], with_submission: bool
) -> PatientRecord:
    patient, *searches = (answer or {} for answer in answers)
    # Every page of every search: a server may cap `_count` (HAPI does). The screens search
    # too: the latest screen is picked from what was read (resources.state.parse_screen), so
    # a server that ignores `_sort` cannot make an older screen pass for the latest one.
    found = [all_pages(client, bundle) for bundle in searches]
    hits = found.pop() if with_submission else []
    return PatientRecord(patient_id, patient, _dedupe([r for rs in found for r in rs]), hits)


def all_pages(client: FhirClient, bundle: Resource, max_pages: int = MAX_PAGES) -> list[Resource]:
    """Every resource of a searchset, following its `next` links (opaque, on our base) to the end."""
    out: list[Resource] = []
    page: Resource | None = bundle
    for _ in range(max_pages):
        if page is None:
            break
        out += [e["resource"] for e in page.get("entry") or [] if "resource" in e]
        page = client.next_page(page)
    return out


def plan_goals(client: FhirClient, record: PatientRecord, state: ProgramState) -> list[Resource]:
    """The program's Goals: those the record read (`_include=CarePlan:goal`), the rest by id
    in one batch (not every server honours that include, and a coordinator's view leaves it out)."""
    have = {g: record.find(f"Goal/{g}") for g in state.goal_ids}
    missing = [g for g, goal in have.items() if goal is None]
    return [g for g in have.values() if g] + read_by_ids(client, "Goal", missing)


def read_by_ids(client: FhirClient, resource_type: str, ids: list[str]) -> list[Resource]:
    """Several resources of one type in one batch round trip (missing ones are left out)."""
    return [found for found in client.batch(q.by_id(resource_type, ids), missing_ok=True) if found]


def _dedupe(resources: list[Resource]) -> list[Resource]:
    seen: dict[str, Resource] = {}
    for resource in resources:
        seen[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
    return list(seen.values())
