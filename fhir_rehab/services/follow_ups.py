"""Follow-up Tasks for the care team from what patients log at home: no session for 7 days, or
pain up 3 or more points over the stage's first score. Each situation has its own key, so a
check run twice (or by two coordinators at once) raises each Task once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from fhir_rehab import codes as c
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.program.adherence import PAIN_UP, follow_ups
from fhir_rehab.program.model import Program
from fhir_rehab.resources import queries as q
from fhir_rehab.resources.activity import parse_sessions
from fhir_rehab.resources.bundle import Transaction, identifier_criteria
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.state import parse_pain, parse_program_state
from fhir_rehab.resources.tasks import build_follow_up
from fhir_rehab.resources.wire import Resource, parse_instant, ref_id
from fhir_rehab.services.writes import add_provenance, commit

LOOK_BACK = timedelta(days=120)  # reports older than this do not decide a follow-up


def _patient_of(resource: Resource) -> str | None:
    for element in ("subject", "for"):
        found = ref_id(resource.get(element), "Patient")
        if found:
            return found
    return None


def raise_follow_ups(client: FhirClient, program: Program, actor: Actor, now: datetime) -> list[str]:
    """Check every running program (one batch read) and create the follow-up Tasks it needs
    (one transaction, each Task conditional on its key). Returns the Tasks created."""
    plans_bundle, reports_bundle = client.batch(
        [q.running_programs(), q.recent_reports((now - LOOK_BACK).date().isoformat())]
    )
    resources: dict[str, list[Resource]] = {}
    for bundle in (plans_bundle or {}, reports_bundle or {}):
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            patient = _patient_of(resource)
            if patient:
                resources.setdefault(patient, []).append(resource)
    tx = Transaction()
    targets: list[str] = []
    keys: list[str] = []
    for patient, found in sorted(resources.items()):
        state = parse_program_state(program, patient, found)
        current = state.current
        if state.careplan_id is None or state.careplan_status != "active" or state.paused or current is None:
            continue
        # A stable start for the stage: when work began, else its planned start (not lastModified,
        # which every claim moves).
        since = current.started or parse_instant(current.planned_start)
        # One Task per situation: a pain rise already has the urgent repeat-screen follow-up
        # the score raised (services.program), so it does not get a routine call back too.
        rescreen_open = any(f.code == c.APP_RESCREEN.code for f in state.follow_ups)
        for item in follow_ups(parse_sessions(found), parse_pain(found), current.stage.number, since, now):
            if rescreen_open and item.key.startswith(PAIN_UP):
                continue
            key = f"{state.careplan_id}.{item.key}"
            keys.append(key)
            targets.append(
                tx.create(
                    build_follow_up(
                        c.APP_FOLLOW_UP, item.reason, patient, state.careplan_id, actor, now, key
                    ),
                    if_none_exist=identifier_criteria(c.SUBMISSION_IDENTIFIER, key),
                )
            )
    if not targets:
        return []
    # Keyed by the situations, so a run that finds nothing new writes nothing new either.
    digest = hashlib.sha256("|".join(sorted(keys)).encode()).hexdigest()[:32]
    add_provenance(tx, targets, actor, now, c.OPERATION_CREATE, f"follow-ups.{digest}")
    return [ref for ref in commit(client, tx).created if ref.startswith("Task/")]
