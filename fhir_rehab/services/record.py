"""Read everything the app needs about one patient in a single batch round trip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
from fhir_rehab.resources.wire import ref_id
from fhir_rehab.services.errors import PatientNotFound
from fhir_rehab.services.writes import WriteResult, commit

Resource = dict[str, Any]
MAX_PAGES = 50  # per search: 50 pages of even 20 is more than any one patient's program holds


@dataclass
class PatientRecord:
    """The patient, their Conditions and every program resource, indexed by `Type/id`."""

    patient_id: str
    patient: Resource
    resources: list[Resource]
    submission_hits: list[Resource] = field(default_factory=list)
    also: dict[str, Resource | None] = field(default_factory=dict)  # read_patient_record(also=)

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
    client: FhirClient,
    patient_id: str,
    submission_id: str | None = None,
    view: RecordView = q.CLINICIAN_VIEW,
    *,
    also: Sequence[str] = (),
) -> PatientRecord:
    """One batch request (`view`: what it covers); with `submission_id`, also that submission if it
    was already recorded (a double submit). Raises PatientNotFound, or the FHIR error of any
    failed entry (the same as a plain read's: 401, 403, ...). `also`: other reads by id the page
    needs, in the same batch (`record.also`; None where the server refused or lacks one)."""
    urls = q.patient_record(patient_id, view)
    if submission_id:
        urls.append(q.submission(patient_id, submission_id))
    try:
        answers = client.batch([*urls, *also], optional=frozenset(also))
    except FhirNotFound as error:
        _patient_missing(client, patient_id, error)
        raise
    extra = answers[len(urls) :]
    record = _record_from(client, patient_id, urls, answers[: len(urls)], bool(submission_id))
    record.also = dict(zip(also, extra, strict=True))
    return record


@dataclass(frozen=True)
class RecordReads:
    """Where a patient record's reads sit among a transaction's reads (`Transaction.read`)."""

    patient_id: str
    first: int
    count: int
    view: RecordView


def read_record_after(tx: Transaction, patient_id: str, view: RecordView = q.CLINICIAN_VIEW) -> RecordReads:
    """Add the reads of the patient record to a write: the transaction answers them after its
    writes (resources.bundle.Transaction), so the page after the write needs no other request."""
    urls = q.patient_record(patient_id, view)
    first = len(tx.reads)
    for url in urls:
        tx.read(url)
    return RecordReads(patient_id, first, len(urls), view)


def record_after(
    client: FhirClient, reads: RecordReads, write: WriteResult, known: PatientRecord | None = None
) -> PatientRecord:
    """The patient record as the write left it, from the transaction's own answers (further
    pages of a long search, if the server paged one, are followed).

    The program's Goals come with the read where the server includes them; else from what the
    write returned, else as `known` (the record the write was built on) had them: versions
    that may be old, but every Goal update is If-Match guarded.
    """
    answers = list(write.reads[reads.first : reads.first + reads.count])
    if len(answers) != reads.count:
        raise FhirError("The FHIR server left out the reads of a transaction.")
    if answers[0] is None:
        raise PatientNotFound(f"Patient {reads.patient_id} was not found on the FHIR server.")
    urls = q.patient_record(reads.patient_id, reads.view)
    record = _record_from(client, reads.patient_id, urls, answers, False)
    written = [w.resource for w in write.written if w.resource]
    add_goals(record, [*written, *(known.resources if known else [])])
    return record


def commit_reading_back(
    client: FhirClient,
    tx: Transaction,
    patient_id: str,
    view: RecordView | None,
    known: PatientRecord | None = None,
) -> WriteResult:
    """Commit `tx`; with a `view`, the patient record is read back in the same transaction
    (`.after`, see record_after), so the page shown after the write needs no request."""
    if view is None:
        return commit(client, tx)
    reads = read_record_after(tx, patient_id, view)
    write = commit(client, tx)
    return replace(write, after=record_after(client, reads, write, known))


def add_goals(record: PatientRecord, candidates: Sequence[Resource | None]) -> None:
    """Add to the record the Goals among `candidates` that its CarePlans name and it lacks."""
    named = {
        ref_id(goal, "Goal")
        for plan in record.resources
        if plan.get("resourceType") == "CarePlan"
        for goal in plan.get("goal") or []
    }
    have = {r.get("id") for r in record.resources if r.get("resourceType") == "Goal"}
    for goal in candidates:
        if goal and goal.get("resourceType") == "Goal" and goal.get("id") in named - have:
            record.resources.append(goal)
            have.add(goal.get("id"))


def _patient_missing(client: FhirClient, patient_id: str, error: FhirNotFound) -> None:
    if error.url == client.url_for(q.patient(patient_id)):
        raise PatientNotFound(f"Patient {patient_id} was not found on the FHIR server.") from None


def _record_from(
    client: FhirClient,
    patient_id: str,
    urls: list[str],
    answers: list[Resource | None],
    with_submission: bool,
) -> PatientRecord:
    patient, *searches = (answer or {} for answer in answers)
    # Every page of every search (a server may cap `_count`: HAPI does), except the latest
    # screens (see resources.queries.patient_record: every panel is listed by another search).
    found = [
        _entries(bundle) if q.first_page_only(url) else all_pages(client, bundle)
        for url, bundle in zip(urls[1:], searches, strict=False)
    ]
    hits = found.pop() if with_submission else []
    return PatientRecord(patient_id, patient, _dedupe([r for rs in found for r in rs]), hits)


def _entries(bundle: Resource) -> list[Resource]:
    return [e["resource"] for e in bundle.get("entry") or [] if "resource" in e]


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
    """The program's Goals: those the record read (its Goal search), the rest by id
    in one batch (a coordinator's view leaves them out)."""
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
