"""The patient's own operations: read my program, log a session, report pain, Oswestry, self-check.

Everything here runs on the patient's own token (patient-level scopes): it reads the plan and
adds the patient's reports. It never updates the CarePlan, a Task or a review; a positive
self-check writes the screen and a review Task for the care team (through the clinician's
screen service), and the open review pauses the program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError
from fhir_rehab.program.adherence import ExerciseSession
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState
from fhir_rehab.resources.activity import build_exercise_session
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.queries import PATIENT_VIEW, RecordView
from fhir_rehab.services.errors import ProgramRefused, StaleVersion
from fhir_rehab.services.program import ScreenResult, hold_program_writes, record_screen
from fhir_rehab.services.record import PatientRecord, commit_reading_back, read_patient_record
from fhir_rehab.services.writes import WriteResult, add_provenance, add_service_provenance, commit, utcnow


class HoldOnRecord(StrEnum):
    """Whether a positive self-check's hold reached the EHR record (the CarePlan on the server)."""

    WRITTEN = "written"  # CarePlan, stage, exercises and Goals on hold, by the app's backend client
    NOT_NEEDED = "not-needed"  # no running program, or it was on hold already
    NOT_CONFIGURED = "not-configured"  # no backend credential for this server: held in the app only
    FAILED = "failed"  # the EHR refused or did not answer: held in the app only


class ProgramPaused(ProgramRefused):
    """Tell the patient: no exercise now, the care team is reviewing what they reported."""

    user_message = (
        "Your exercises are paused until your care team has reviewed what you reported. "
        "Follow the advice you were given; they will contact you."
    )


@dataclass(frozen=True)
class MyProgram:
    """The patient's program as they see it, with the sessions they logged."""

    record: PatientRecord
    state: ProgramState
    sessions: tuple[ExerciseSession, ...]


def read_my_program(client: FhirClient, program: Program, patient_id: str) -> MyProgram:
    """One batch round trip: the patient, their plan and stages, scores, screen, reviews, sessions."""
    record = read_patient_record(client, patient_id, view=PATIENT_VIEW)
    return MyProgram(record, record.state(program), record.sessions())


def log_session(
    client: FhirClient,
    program: Program,
    patient_id: str,
    exercise_keys: Sequence[str],
    actor: Actor,
    submission_id: str,
    now: datetime | None = None,
    *,
    mine: MyProgram | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """One session of the current stage's exercises (those ticked), with Provenance whose author
    is the patient; a resubmission (same submission id) finds the first one.

    `mine`: the program as the patient's page showed it (nothing is read first); `read_after`:
    the record is read back in the same transaction (`.after`), for the page after."""
    now = now or utcnow()
    mine = mine or read_my_program(client, program, patient_id)
    state = mine.state
    if state.paused:
        raise ProgramPaused()
    current = state.current
    if current is None:
        raise ProgramRefused("There is no stage to exercise for now.")
    offered = {e.key: e for e in current.exercises or current.stage.exercises}
    unknown = [k for k in exercise_keys if k not in offered]
    if unknown or not exercise_keys:
        raise ProgramRefused("Tick at least one of today's exercises.")
    chosen = [offered[k] for k in dict.fromkeys(exercise_keys)]
    tx = Transaction()
    obs = tx.create(
        build_exercise_session(
            chosen, patient_id, actor, now, submission_id, state.careplan_id, current.task_id
        ),
        if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, submission_id),
    )
    add_provenance(tx, [obs], actor, now, c.OPERATION_CREATE, f"{submission_id}.provenance")
    return commit_reading_back(client, tx, patient_id, read_after)


def self_check(
    client: FhirClient,
    program: Program,
    patient_id: str,
    answers: Mapping[str, bool],
    actor: Actor,
    submission_id: str,
    now: datetime | None = None,
    *,
    record: PatientRecord | None = None,
) -> ScreenResult:
    """The clinician's red-flag screen, answered by the patient: the same questions, levels,
    review Task and priority; the patient's token cannot hold the plan, so the open review
    pauses it until a clinician records the review. With `record` (the page's) one round trip,
    the record read back in it (`write.after`)."""
    return record_screen(
        client,
        program,
        patient_id,
        answers,
        actor,
        submission_id,
        now,
        record_view=PATIENT_VIEW,
        hold_program=False,
        record=record,
        read_after=PATIENT_VIEW if record is not None else None,
    )


def hold_on_record(
    client: FhirClient,
    system: FhirClient | None,
    program: Program,
    patient_id: str,
    screen: ScreenResult,
    before: ProgramState,
    patient: Actor,
    client_id: str,
    now: datetime | None = None,
) -> HoldOnRecord:
    """After a positive self-check, put the program on hold on the EHR record exactly as the
    clinician's screen does (CarePlan, the stage under way, its exercises, the Goals), written
    by the app's own Backend Services client `system`, never by the patient's token. Provenance
    names the app (on behalf of the patient) with the self-check as its source.

    `before` is the program as read before the screen (its versions: the self-check changed
    none of these resources). Fails closed: without `system`, or when the EHR refuses, the open
    review keeps the program paused in the app and the caller says the record is not on hold.
    """
    now = now or utcnow()
    if not screen.outcome.positive or before.careplan_status != "active" or before.careplan_id is None:
        return HoldOnRecord.NOT_NEEDED
    if system is None:
        return HoldOnRecord.NOT_CONFIGURED
    record = None
    for _ in range(2):  # a concurrent change of the plan (409/412): read it again, once
        try:
            if record is None:
                record = read_patient_record(client, patient_id, view=PATIENT_VIEW)
            state = record.state(program)
            if state.careplan_status != "active" or state.latest_screen is None:
                return HoldOnRecord.NOT_NEEDED
            tx = Transaction()
            targets = hold_program_writes(tx, system, record, state, screen.outcome, now)
            source = f"Observation/{state.latest_screen.panel_id}"
            add_service_provenance(
                tx,
                targets,
                client_id,
                patient,
                source,
                now,
                c.OPERATION_UPDATE,
                f"{state.careplan_id}.{state.careplan_version}.self-check-hold",
            )
            commit(system, tx)
            return HoldOnRecord.WRITTEN
        except StaleVersion:
            record = None
        except FhirError:
            return HoldOnRecord.FAILED
    return HoldOnRecord.FAILED
