"""The clinical operations: screen red flags, start the program, record pain, complete a stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.ids import check_free_text
from fhir_rehab.program.eligibility import Eligibility, assess_eligibility
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import (
    ProgramState,
    ProgressionCheck,
    Score,
    StageState,
    check_progression,
)
from fhir_rehab.program.redflags import ScreenOutcome, ScreenStatus, screen_red_flags
from fhir_rehab.program.review import refusal_for
from fhir_rehab.program.schedule import Window, replan_after
from fhir_rehab.program.triggers import flare_of, no_improvement, rescreen_needed
from fhir_rehab.resources.bundle import (
    Transaction,
    identifier_criteria,
)
from fhir_rehab.resources.careplan import (
    advance_stage_goal,
    build_care_plan,
    build_stage_goal,
    build_stage_task,
    end_care_plan,
    episode_key,
    goal_criteria,
    goal_following_plan,
    goal_key,
    goal_stage_number,
    hold_care_plan,
    note_stage_progress,
    plan_windows,
    reschedule_stage_goal,
    reschedule_stage_task,
    stage_task_key,
)
from fhir_rehab.resources.observations import (
    build_oswestry_score,
    build_pain_score,
    build_red_flag_answer,
    build_red_flag_panel,
    build_screen_response,
)
from fhir_rehab.resources.prescriptions import build_prescription, prescription_key
from fhir_rehab.resources.provenance import Actor, provenance_criteria
from fhir_rehab.resources.queries import CLINICIAN_VIEW, RecordView
from fhir_rehab.resources.state import parse_program_state
from fhir_rehab.resources.tasks import (
    add_review_guard,
    advance_task,
    build_follow_up,
    build_review_task,
    change_task_status,
    close_follow_up,
    hold_for_red_flag,
    mark_completed_early,
)
from fhir_rehab.resources.wire import Resource, fhir_instant, new_urn, ref_id, version_of
from fhir_rehab.services.errors import ProgramRefused, StageRefused, StaleVersion
from fhir_rehab.services.record import (
    PatientRecord,
    commit_reading_back,
    plan_goals,
    read_patient_record,
)
from fhir_rehab.services.tailoring import Plan, follow_stage, propose_plan, refuse_unconfirmed
from fhir_rehab.services.writes import WriteResult, add_provenance, utcnow


# -- eligibility --------------------------------------------------------------------------------
def check_eligibility(record: PatientRecord) -> Eligibility:
    return assess_eligibility(record.conditions())


# -- red-flag screen ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ScreenResult:
    outcome: ScreenOutcome
    write: WriteResult
    review_task: str | None
    repeated: bool = False  # the same submission was already recorded: nothing new written


def record_screen(
    client: FhirClient,
    program: Program,
    patient_id: str,
    answers: Mapping[str, bool],
    actor: Actor,
    submission_id: str,
    now: datetime | None = None,
    *,
    record_view: RecordView = CLINICIAN_VIEW,
    hold_program: bool = True,
    record: PatientRecord | None = None,
    read_after: RecordView | None = None,
) -> ScreenResult:
    """Record every answer in one transaction: a QuestionnaireResponse, one Observation per
    question (question code, yes/no value) and the panel; a positive screen escalates.

    Escalation writes a medical-review Task (its level's priority and due time) and puts the
    CarePlan and its open Tasks on hold (If-Match on each), all in the same transaction. A
    resubmission writes nothing.

    The patient's own self-check passes `hold_program=False`: their token may not change the
    plan or its Tasks, so it writes the screen and the review Task only, and the open review
    pauses the program (ProgramState.paused) until a clinician records the review.
    `record_view` is what the caller's scopes can read (resources.queries.RecordView).

    One round trip: with `record` (what the user's page was rendered from) nothing is read
    first, and `read_after` reads the record back inside the same transaction (`write.after`).
    If that record was out of date, a stale If-Match fails the write and it is made once more
    on a fresh read (the answers do not depend on it); if it missed a running program that a
    positive screen must hold, the hold follows at once (the only second request).
    """
    outcome = screen_red_flags(answers)  # raises IncompleteScreen before any I/O
    now = now or utcnow()
    known = record
    if known is not None:
        read_after = read_after or record_view
    record = known or read_patient_record(client, patient_id, submission_id, record_view)
    if record.submission_hits:
        return ScreenResult(outcome, WriteResult(()), None, repeated=True)
    state = record.state(program)
    tx = Transaction()
    response_key = f"{submission_id}.response"
    response = tx.create(
        build_screen_response(outcome, patient_id, actor, now, response_key),
        if_none_exist=provenance_criteria(response_key),
    )
    members = [
        tx.create(
            build_red_flag_answer(
                flag, outcome.answers[flag.key], patient_id, actor, now, f"{submission_id}.{flag.key}"
            ),
            if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, f"{submission_id}.{flag.key}"),
        )
        for flag in outcome.version.questions
    ]
    panel = tx.create(
        build_red_flag_panel(
            members, outcome.positive, patient_id, actor, now, submission_id, response_ref=response
        ),
        if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, submission_id),
    )
    targets = [response, panel, *members]
    for follow_up in state.follow_ups if hold_program else ():  # a patient's token updates nothing
        if follow_up.code == c.APP_RESCREEN.code:  # this screen is what the follow-up asked for
            done = close_follow_up(record.get(f"Task/{follow_up.task_id}"), panel, now)
            targets.append(tx.update(done, if_match=follow_up.version))
    review = None
    if outcome.positive:
        review_key = f"{submission_id}.review"
        review_index = len(tx)
        review = tx.create(
            build_review_task(outcome, patient_id, panel, actor, now, review_key, state.careplan_id),
            if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, review_key),
        )
        targets.append(review)
        if hold_program:
            targets += hold_program_writes(tx, client, record, state, outcome, now)
    add_provenance(tx, targets, actor, now, c.OPERATION_CREATE, f"{submission_id}.provenance")
    try:
        result = commit_reading_back(client, tx, patient_id, read_after, record)
    except StaleVersion:
        if known is not None:  # the page's record was out of date: once more, on a fresh read
            return record_screen(
                client,
                program,
                patient_id,
                answers,
                actor,
                submission_id,
                now,
                record_view=record_view,
                hold_program=hold_program,
                read_after=read_after,
            )
        # A double submit racing this one put the program on hold first: nothing is lost.
        if read_patient_record(client, patient_id, submission_id, record_view).submission_hits:
            return ScreenResult(outcome, WriteResult(()), None, repeated=True)
        raise
    review_ref = result.refs[review_index] if review else None
    repeated = known is not None and not result.created  # every entry was there: a double submit
    if outcome.positive and hold_program and read_after is not None:
        result = _hold_what_was_missed(
            client, program, result, _red_flag_reason(outcome), actor, now, read_after
        )
    return ScreenResult(outcome, result, review_ref, repeated=repeated)


def _red_flag_reason(outcome: ScreenOutcome | None) -> str:
    return "Red flag present: " + "; ".join(f.label for f in (outcome.positives if outcome else ()))


def _hold_what_was_missed(
    client: FhirClient,
    program: Program,
    result: WriteResult,
    reason: str,
    actor: Actor,
    now: datetime,
    view: RecordView,
) -> WriteResult:
    """Something the write relied on had changed since the page: a positive screen, or an open
    review, finds the program running after the write (started after the page the write was
    built from). Hold it now, in a second transaction that reads the record back too."""
    after = result.after
    if after is None:
        return result
    state = after.state(program)
    if state.careplan_status != "active":
        return result
    tx = Transaction()
    targets = hold_program_writes(tx, client, after, state, None, now, reason=reason)
    add_provenance(
        tx, targets, actor, now, c.OPERATION_UPDATE, f"{state.careplan_id}.{state.careplan_version}.hold"
    )
    held = commit_reading_back(client, tx, after.patient_id, view, after)
    return replace(result, after=held.after)


def hold_program_writes(
    tx: Transaction,
    client: FhirClient,
    record: PatientRecord,
    state: ProgramState,
    outcome: ScreenOutcome | None,
    now: datetime,
    *,
    reason: str | None = None,
) -> list[str]:
    """The CarePlan on hold, the stage under way on hold (one not started stays ready, its
    reason and business status saying why), the stage's exercises and the Goals with it.
    The reason: the screen's red flags, or `reason` (a start refused after the write)."""
    if state.careplan_id is None or state.careplan_status != "active":
        return []
    reason = reason or _red_flag_reason(outcome)
    plan = hold_care_plan(record.get(f"CarePlan/{state.careplan_id}"), reason, now)
    targets = [tx.update(plan, if_match=state.careplan_version)]
    for stage in state.stages:
        held = hold_for_red_flag(record.get(f"Task/{stage.task_id}"), reason, now)
        if held is not None:
            targets.append(tx.update(held, if_match=stage.version))
            # The exercises' authorization is withdrawn for now, started or not (R4
            # ServiceRequest on-hold), whatever the stage Task's own status.
            targets += follow_stage(tx, record, stage, "on-hold")
    targets += goals_follow_plan(tx, client, record, state, "on-hold", now)
    return targets


def goals_follow_plan(
    tx: Transaction,
    client: FhirClient,
    record: PatientRecord,
    state: ProgramState,
    plan_status: str,
    now: datetime,
) -> list[str]:
    """The program's Goals follow their CarePlan to `plan_status` (on hold, active again,
    revoked): the one path every change of the plan takes (If-Match on each Goal)."""
    targets = []
    for goal in plan_goals(client, record, state):
        changed = goal_following_plan(goal, plan_status, now)
        if changed is not None:
            targets.append(tx.update(changed, if_match=version_of(goal)))
    return targets


# -- start ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartResult:
    state: ProgramState
    write: WriteResult
    eligibility: Eligibility
    already_started: bool


def start_program(
    client: FhirClient,
    program: Program,
    patient_id: str,
    actor: Actor,
    *,
    max_screen_age_days: int = 7,
    now: datetime | None = None,
    plan: Plan | None = None,
    record: PatientRecord | None = None,
    read_after: RecordView | None = None,
) -> StartResult:
    """Write CarePlan, stage Tasks, their exercise ServiceRequests, Goals and Provenance in ONE
    transaction, idempotently. `plan` is the clinician's tailored exercises per stage number;
    without it (or for a stage it leaves out), the defaults the latest assessment chooses.

    With `record` (the one the user's page showed) nothing is read first and the record is
    read back in the same transaction. The safety rules are checked on both: should the record
    after the write show what the page did not (a newer screen that is not clear, an open
    review), the new program is put on hold at once and the start is refused (fails closed)."""
    now = now or utcnow()
    known = record
    if known is not None:
        read_after = read_after or CLINICIAN_VIEW
    record = known or read_patient_record(client, patient_id)
    state = record.state(program)
    eligibility = check_eligibility(record)
    if state.started and state.careplan_status == "on-hold":
        raise ProgramRefused(
            refusal_for(state.reviews, "start")
            or "The program is on hold for a red flag: record a new clear screen, then resume it."
        )
    if state.started and state.careplan_status == "active":
        return StartResult(state, WriteResult(()), eligibility, already_started=True)
    if not eligibility.eligible or eligibility.match is None:
        raise ProgramRefused(f"Not eligible. {eligibility.reason}")
    refuse_without_clear_screen(state, max_screen_age_days, now)
    proposed = propose_plan(program, state)
    chosen = {n: list((plan or {}).get(n) or proposed[n].items) for n in proposed}
    refuse_unconfirmed(chosen, state)
    episode = episode_key(program, patient_id, eligibility.match.condition_id, state.episodes)
    condition_id = eligibility.match.condition_id
    tx = Transaction()
    windows = plan_windows(program, now)
    goals = [
        tx.create(
            build_stage_goal(program, w, episode, patient_id, condition_id, now),
            if_none_exist=goal_criteria(goal_key(episode, w.stage)),
        )
        for w in windows
    ]
    plan_urn = f"urn:uuid:{episode}"
    task_urns = [new_urn() for _ in windows]
    screen_ref = f"Observation/{state.latest_screen.panel_id}" if state.latest_screen else None
    tx.create(
        build_care_plan(program, episode, patient_id, condition_id, actor, now, goals, task_urns, screen_ref),
        if_none_exist=identifier_criteria(c.EPISODE_IDENTIFIER, episode),
        full_url=plan_urn,
    )
    requests: list[str] = []
    for index, (window, urn) in enumerate(zip(windows, task_urns, strict=True)):
        refs = []
        for item in chosen[window.stage.number]:
            key = prescription_key(episode, window.stage.number, item.exercise.key)
            request = build_prescription(
                program,
                item,
                key=key,
                patient_id=patient_id,
                care_plan_ref=plan_urn,
                condition_id=condition_id,
                actor=actor,
                now=now,
                status="active" if index == 0 else "draft",
            )
            refs.append(
                (
                    item.exercise.name,
                    tx.create(request, if_none_exist=identifier_criteria(c.EXERCISE_IDENTIFIER, key)),
                )
            )
        requests += [r for _, r in refs]
        tx.create(
            build_stage_task(program, window, episode, patient_id, condition_id, plan_urn, actor, now, refs),
            if_none_exist=identifier_criteria(c.TASK_IDENTIFIER, stage_task_key(episode, window.stage)),
            full_url=urn,
        )
    add_provenance(
        tx, [plan_urn, *task_urns, *requests, *goals], actor, now, c.OPERATION_CREATE, f"{episode}.start"
    )
    write = commit_reading_back(client, tx, patient_id, read_after, record)
    if read_after is not None:
        after = still_clear_after(client, program, write, read_after, actor, max_screen_age_days, now)
        return StartResult(after, write, eligibility, already_started=not write.created)
    returned = [w.resource for w in write.written if w.resource]
    if len(returned) == len(write.written):  # the server sent every resource back
        after = parse_program_state(program, patient_id, record.resources + returned)
    else:  # Prefer: return=representation was not honoured: read the program back
        after = read_patient_record(client, patient_id).state(program)
    return StartResult(after, write, eligibility, already_started=not write.created)


def still_clear_after(
    client: FhirClient,
    program: Program,
    write: WriteResult,
    view: RecordView,
    actor: Actor,
    max_age_days: int,
    now: datetime,
    action: str = "start",
) -> ProgramState:
    """The program as a start or resume built on the page's record left it, checked again.

    The review guard and If-Match catch what changes the plan or opens a review; this catches
    the rest the page could not show (a newer screen that is not clear, a pain flare): the
    program is put on hold at once and the action refused (fails closed)."""
    after = write.after.state(program)
    try:
        refuse_without_clear_screen(after, max_age_days, now, action)
    except ProgramRefused as refused:
        _hold_what_was_missed(client, program, write, str(refused), actor, now, view)
        done = {"start": "started", "resume": "resumed"}.get(action, action)
        raise ProgramRefused(
            f"{refused} The record changed while the program was being {done}: it is on hold."
        ) from None
    return after


def refuse_without_clear_screen(
    state: ProgramState, max_age_days: int, now: datetime, action: str = "start"
) -> None:
    """Start and resume need: no open red-flag review, and a recent, complete, clear screen.

    Fails closed: a screen whose answers cannot all be read is incomplete and must be repeated.
    """
    blocked = refusal_for(state.reviews, action)
    if blocked:
        raise ProgramRefused(blocked)
    screen = state.latest_screen
    if screen is None or screen.when is None:
        raise ProgramRefused("No red-flag screen on record: screen the patient first.")
    if screen.status is ScreenStatus.POSITIVE:
        found = "; ".join(f.label for f in screen.positives) or "its answers could not be read"
        raise ProgramRefused(
            f"The latest red-flag screen is positive ({found}): medical review comes before exercise therapy."
        )
    if screen.status is ScreenStatus.INCOMPLETE:
        raise ProgramRefused(
            "The latest red-flag screen is incomplete ("
            + "; ".join(screen.problems())
            + "): it does not count as clear. Screen the patient again."
        )
    if now - screen.when > timedelta(days=max_age_days):
        raise ProgramRefused(
            f"The latest red-flag screen is older than {max_age_days} days: screen the patient again."
        )
    flare = rescreen_needed(state)
    if flare:
        raise ProgramRefused(
            f"A pain score asks for a new red-flag screen ({flare.reason}): screen the patient again."
        )


# -- scores ----------------------------------------------------------------------------------
def record_pain(
    client: FhirClient,
    patient_id: str,
    score: int,
    actor: Actor,
    submission_id: str,
    care_plan_id: str | None = None,
    now: datetime | None = None,
    *,
    state: ProgramState | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """One pain 0-10 Observation plus Provenance; a resubmission finds the first one.

    With the program's `state` (as the caller read it), a score that asks for a new red-flag
    screen, or four weeks without improvement, raises its follow-up Task in the same transaction.
    `read_after`: the record is read back in the same transaction (`.after`).
    """
    now = now or utcnow()
    return _record_observation(
        client,
        build_pain_score(score, patient_id, actor, now, submission_id, care_plan_id),
        actor,
        submission_id,
        now,
        state,
        Score(score, now),
        None,
        read_after,
    )


def record_oswestry(
    client: FhirClient,
    patient_id: str,
    percent: int,
    actor: Actor,
    submission_id: str,
    care_plan_id: str | None = None,
    now: datetime | None = None,
    *,
    state: ProgramState | None = None,
    read_after: RecordView | None = None,
) -> WriteResult:
    """One Oswestry Disability Index score (0-100 %) plus Provenance, idempotently (follow-ups
    and `read_after` as for pain)."""
    now = now or utcnow()
    return _record_observation(
        client,
        build_oswestry_score(percent, patient_id, actor, now, submission_id, care_plan_id),
        actor,
        submission_id,
        now,
        state,
        None,
        Score(percent, now),
        read_after,
    )


def _record_observation(
    client: FhirClient,
    observation: Resource,
    actor: Actor,
    submission_id: str,
    now: datetime,
    state: ProgramState | None,
    pain: Score | None,
    oswestry: Score | None,
    read_after: RecordView | None = None,
) -> WriteResult:
    tx = Transaction()
    obs = tx.create(observation, if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, submission_id))
    targets = [obs]
    if state is not None:
        targets += _raise_follow_ups(tx, state, actor, now, submission_id, pain, oswestry)
    add_provenance(tx, targets, actor, now, c.OPERATION_CREATE, f"{submission_id}.provenance")
    patient_id = str(ref_id(observation.get("subject"), "Patient"))
    return commit_reading_back(client, tx, patient_id, read_after)


def _raise_follow_ups(
    tx: Transaction,
    state: ProgramState,
    actor: Actor,
    now: datetime,
    key: str,
    pain: Score | None,
    oswestry: Score | None,
) -> list[str]:
    """A repeat-screen follow-up for a pain flare; a progress review after four weeks in a stage
    without improvement (once per stage). Only for a running program; never twice at once."""
    current = state.current
    if state.careplan_status != "active" or current is None:
        return []
    open_codes = {f.code for f in state.follow_ups}
    since = current.active_since
    targets = []
    if pain is not None and c.APP_RESCREEN.code not in open_codes:
        earlier = sorted((s for s in state.pain if since is None or s.when >= since), key=lambda s: s.when)
        flare = flare_of(pain, earlier[0] if earlier else None)
        if flare:
            rescreen_key = f"{key}.rescreen"
            targets.append(
                tx.create(
                    build_follow_up(
                        c.APP_RESCREEN,
                        flare.reason,
                        state.patient_id,
                        state.careplan_id,
                        actor,
                        now,
                        rescreen_key,
                    ),
                    if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, rescreen_key),
                )
            )
    if c.APP_PROGRESS_REVIEW.code not in open_codes:
        pains = (*state.pain, pain) if pain else state.pain
        scores = (*state.oswestry, oswestry) if oswestry else state.oswestry
        why = no_improvement(pains, scores, since, now)
        if why:
            review_key = f"{current.task_id}.progress-review"  # once per stage
            targets.append(
                tx.create(
                    build_follow_up(
                        c.APP_PROGRESS_REVIEW,
                        why,
                        state.patient_id,
                        state.careplan_id,
                        actor,
                        now,
                        review_key,
                    ),
                    if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, review_key),
                )
            )
    return targets


# -- stage progression -------------------------------------------------------------------------
@dataclass(frozen=True)
class StageResult:
    write: WriteResult
    check: ProgressionCheck
    next_task: str | None
    next_planned_end: datetime | None = None  # the next stage's (moved) planned end


def complete_stage(
    client: FhirClient,
    program: Program,
    patient_id: str,
    task_id: str,
    actor: Actor,
    *,
    expected_version: str | None = None,
    now: datetime | None = None,
    record: PatientRecord | None = None,
    early_reason: str | None = None,
    max_screen_age_days: int = 14,
    read_after: RecordView | None = None,
) -> StageResult:
    """Complete the current stage and ready the next one, CarePlan and Goals in step: one
    transaction, each update guarded by If-Match so a concurrent change fails it whole.

    `record` is the patient's program as already read (the page's, so the action costs no
    read of its own).

    Safety first: a clear red-flag screen from the last `max_screen_age_days` days is needed.
    When the measured criteria are not met the stage completes only with `early_reason` (an
    explicit confirmation): its businessStatus then says "completed early", with the reason.

    One round trip with `record` (the page's) and `read_after` (the record read back in the
    same transaction). The checks above use `record`; what may have changed since is caught
    inside the transaction: a hold or a newer positive screen changed the CarePlan or the Task
    (If-Match), and an open review makes the review guard match twice (`review_guard`).
    Either fails the whole write with StaleVersion: nothing is completed.
    """
    now = now or utcnow()
    record = record or read_patient_record(client, patient_id)
    state = record.state(program)
    current = state.current
    if state.paused:
        raise StageRefused("The program is on hold for a red-flag review.")
    if current is None or current.task_id != task_id:
        raise StageRefused("That stage is not the current stage of this program.")
    if expected_version is not None and expected_version != current.version:
        raise StaleVersion()
    _refuse_without_recent_screen(state, max_screen_age_days, now)
    flare = rescreen_needed(state)
    if flare:
        raise StageRefused(
            f"A pain score asks for a new red-flag screen first ({flare.reason}): screen the patient again."
        )
    check = check_progression(
        current.stage, state.pain, current.active_since, now, state.oswestry, state.assessments
    )
    try:
        early = check_free_text(early_reason or "", max_chars=MAX_EARLY_REASON, what="The reason")
    except ValueError as exc:
        raise StageRefused(str(exc)) from None
    if check.unmet and not early:
        raise StageRefused(
            "The measured criteria are not met ("
            + "; ".join(check.unmet)
            + "). To complete the stage early, confirm it and give a reason."
        )
    task = advance_task(record.get(f"Task/{task_id}"), "completed", now)
    if current.started is None and current.active_since is not None and current.active_since < now:
        # Completed straight from ready: the work began when the stage was handed over, not at
        # the moment it was marked complete (executionPeriod.start == end would say "no time").
        task["executionPeriod"]["start"] = fhir_instant(current.active_since)
    if check.unmet:
        task = mark_completed_early(task, early, actor, now)
    tx = Transaction()
    targets = [tx.update(task, if_match=current.version)]
    targets += follow_stage(tx, record, current, "completed")
    following = next((s for s in state.stages if s.stage.number > current.stage.number), None)
    # The stages still to come move with the real end of this one (early or late).
    windows = replan_after(state.stages, current.stage.number, now)
    for later in state.stages:
        window = windows.get(later.task_id)
        hand_over = later is following and later.status == "draft"
        if window is None and not hand_over:
            continue
        changed = record.get(f"Task/{later.task_id}")
        if hand_over:
            changed = change_task_status(changed, "ready", now)
        if window is not None:
            changed = reschedule_stage_task(changed, window.start, window.end, now)
        targets.append(tx.update(changed, if_match=later.version))
        if hand_over:
            targets += follow_stage(tx, record, later, "ready")
    note = f"Stage {current.stage.number} ({current.stage.title}) completed"
    if check.unmet:
        note += f" early ({early}); criteria not met: " + "; ".join(check.unmet)
    plan = note_stage_progress(record.get(f"CarePlan/{state.careplan_id}"), f"Task/{task_id}", note, now)
    if following is None:
        plan = end_care_plan(plan, "completed", now)
    targets.append(tx.update(plan, if_match=state.careplan_version))
    moved = {s.stage.number: windows[s.task_id] for s in state.stages if s.task_id in windows}
    targets += _advance_goals(client, tx, record, state, current.stage.number, now, check.ready, moved)
    add_provenance(tx, targets, actor, now, c.OPERATION_UPDATE, f"{task_id}.{current.version}.complete")
    review_guard(tx, record, current, patient_id)
    write = commit_reading_back(client, tx, patient_id, read_after, record)
    moved_end = windows[following.task_id].end if following and following.task_id in windows else None
    return StageResult(write, check, f"Task/{following.task_id}" if following else None, moved_end)


def review_guard(tx: Transaction, record: PatientRecord, stage: StageState, patient_id: str) -> None:
    """No red-flag review of this patient is open, checked inside the transaction
    (resources.tasks.add_review_guard), `stage` (the one open stage: current, under way or
    held) the guard's anchor. The same transaction must hold a guarded write that a change
    of the stage fails (If-Match on its Task, or on the CarePlan every stage change notes)."""
    add_review_guard(tx, record.get(f"Task/{stage.task_id}"), stage.stage.code, patient_id)


MAX_EARLY_REASON = 500


def _refuse_without_recent_screen(state: ProgramState, max_age_days: int, now: datetime) -> None:
    """Completing a stage needs a complete, clear red-flag screen from the last days."""
    screen = state.latest_screen
    if screen is None or screen.when is None or now - screen.when > timedelta(days=max_age_days):
        raise StageRefused(
            f"Completing a stage needs a red-flag screen from the last {max_age_days} days: "
            "screen the patient first."
        )
    if not screen.clear:
        raise StageRefused(
            "The latest red-flag screen is not clear ("
            + ("; ".join(f.label for f in screen.positives) or "; ".join(screen.problems()))
            + "): screen the patient again before completing a stage."
        )


def _advance_goals(
    client: FhirClient,
    tx: Transaction,
    record: PatientRecord,
    state: ProgramState,
    number: int,
    now: datetime,
    criteria_met: bool = True,
    moved: Mapping[int, Window] | None = None,
) -> list[str]:
    """Stage n's Goal completes (achieved or not) and stage n+1's becomes active; the Goals of
    the stages that `moved` (by stage number) start and are due with their stages."""
    targets = []
    for goal in plan_goals(client, record, state):
        changed = advance_stage_goal(goal, number, now, criteria_met=criteria_met)
        window = (moved or {}).get(goal_stage_number(goal) or 0)
        if window is not None:
            changed = reschedule_stage_goal(changed or goal, window.start, window.end)
        if changed is not None:
            targets.append(tx.update(changed, if_match=version_of(goal)))
    return targets
