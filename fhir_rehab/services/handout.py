"""File the handout PDF in the EHR as a DocumentReference, with Provenance, idempotently."""

from __future__ import annotations

from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.model import Program
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.careplan import has_progress_note, note_stage_progress
from fhir_rehab.resources.handout import build_handout_document
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import RecordView
from fhir_rehab.resources.tasks import add_review_guard
from fhir_rehab.services.errors import ProgramRefused
from fhir_rehab.services.record import PatientRecord, commit_reading_back
from fhir_rehab.services.writes import WriteResult, add_provenance, utcnow


def file_handout(
    client: FhirClient,
    pdf: bytes,
    *,
    patient_id: str,
    care_plan_id: str | None,
    stage_title: str,
    actor: Actor,
    key: str,
    now: datetime | None = None,
    shown: tuple[Program, PatientRecord] | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """The DocumentReference (created once per `key`: a double submit files it once) and its
    Provenance, in one transaction.

    `shown`: the program and the record the sheet was shown from. The filing then holds only
    while the program is as that page showed it (see `_as_shown`), so nothing is read first;
    `read_after` reads the record back in the same transaction (`.after`).
    """
    now = now or utcnow()
    tx = Transaction()
    document = build_handout_document(
        pdf,
        patient_id=patient_id,
        care_plan_id=care_plan_id,
        stage_title=stage_title,
        actor=actor,
        now=now,
        key=key,
    )
    ref = tx.create(document, if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, key))
    targets = [ref]
    if shown is not None:
        targets += _as_shown(tx, *shown, patient_id, stage_title, key, now)
    add_provenance(tx, targets, actor, now, c.OPERATION_CREATE, f"{key}.provenance")
    return commit_reading_back(client, tx, patient_id, read_after, shown[1] if shown else None)


def _as_shown(
    tx: Transaction,
    program: Program,
    record: PatientRecord,
    patient_id: str,
    stage_title: str,
    key: str,
    now: datetime,
) -> list[str]:
    """The guards that make a filing built on the page's record fail closed.

    The stage's CarePlan activity notes the filing, If-Match on the CarePlan version the page
    saw: a red-flag hold, a stage completed or a stop since the page changed the CarePlan, so
    the whole filing fails (StaleVersion) and nothing is filed. A review opened without
    touching the plan (a patient's self-check) makes the open-review guard match twice
    (resources.tasks.add_review_guard, the current stage as its anchor). A filing already
    noted on the plan (the same form sent again) adds nothing: its document's conditional
    create finds the first one.
    """
    state = record.state(program)
    current = state.current
    plan = record.find(f"CarePlan/{state.careplan_id}")
    if current is None or plan is None:
        raise ProgramRefused("There is no current stage to file a handout for.")
    if has_progress_note(plan, key):
        return []
    text = f"Home exercise sheet ({stage_title}) filed in the patient's documents"
    noted = note_stage_progress(plan, f"Task/{current.task_id}", text, now, note_id=key)
    add_review_guard(tx, record.get(f"Task/{current.task_id}"), current.stage.code, patient_id)
    return [tx.update(noted, if_match=state.careplan_version)]


def was_filed(record: PatientRecord, care_plan_id: str | None, key: str) -> bool:
    """Whether the record's plan notes the filing with this key (the filing was made)."""
    return has_progress_note(record.find(f"CarePlan/{care_plan_id}"), key)
