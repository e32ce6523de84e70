"""Named FHIR reads: the search strings the services send, so services speak only in names.

Each function returns a URL relative to the FHIR base, ready for `FhirClient.batch()` (or a
plain GET). Codes and systems come from `fhir_rehab.codes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlencode

from fhir_rehab import codes as c
from fhir_rehab.program.lifecycle import ACTIONABLE_STATUSES

MAX_PRACTITIONERS = 50


class Search(NamedTuple):
    """A search as `FhirClient.search(*search)` takes it, or as one URL (`url()`) for a batch."""

    resource_type: str
    params: list[tuple[str, str]]

    def url(self) -> str:
        return f"{self.resource_type}?{urlencode(self.params)}"


@dataclass(frozen=True)
class RecordView:
    """What a patient-record read covers. The clinician's default: Conditions, the latest
    screen, open reviews and Goals; a coordinator leaves out Conditions (not in their scopes),
    reads every screen and review and no Goals."""

    conditions: bool = True
    screens: int = 1
    goals: bool = True
    open_reviews_only: bool = True
    sessions: bool = True  # the home exercise sessions the patient logged


CLINICIAN_VIEW = RecordView()
COORDINATOR_VIEW = RecordView(conditions=False, screens=20, goals=False, open_reviews_only=False)
# The patient's own token: no Conditions, no Goals (not in their scopes).
PATIENT_VIEW = RecordView(conditions=False, goals=False)


def patient(patient_id: str) -> str:
    return f"Patient/{patient_id}"


def patient_record(patient_id: str, view: RecordView = CLINICIAN_VIEW) -> list[str]:
    """The patient, program (CarePlan with Goals and Tasks), latest screens, pain and Oswestry
    scores, medical reviews and Conditions: the reads of one patient record, the patient first.

    >>> patient_record("7", RecordView(conditions=False))[0]
    'Patient/7'
    """
    p = patient_id
    goal_include = "&_include=CarePlan:goal" if view.goals else ""
    review_status = f"&status={','.join(ACTIONABLE_STATUSES)}" if view.open_reviews_only else ""
    queries = [
        patient(p),
        f"CarePlan?patient={p}&identifier={c.EPISODE_IDENTIFIER}|{goal_include}"
        "&_revinclude=Task:based-on&_count=20",
        f"Observation?patient={p}&code={c.APP_CODES}|{c.APP_RED_FLAG_PANEL.code}"
        f"&_sort=-date,-_lastUpdated&_count={view.screens}&_include=Observation:has-member",
        f"Observation?patient={p}&code={c.LOINC}|{c.LOINC_PAIN_0_10.code},"
        f"{c.LOINC}|{c.LOINC_ODI_SCORE.code}&_sort=-date&_count=100",
        f"Task?patient={p}&code={c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}{review_status}&_count=50",
        # The exercises prescribed (ServiceRequests; the app keeps those of its CarePlan).
        f"ServiceRequest?patient={p}&category={c.PA_TEMPORARY_CODES}|{c.PA_CATEGORY.code}&_count=200",
        # Assessments, oldest kept: the first is the baseline the stage criteria compare with.
        f"Observation?patient={p}&code={c.APP_CODES}|{c.APP_ASSESSMENT_PANEL.code}"
        "&_sort=-date&_count=20&_include=Observation:has-member",
    ]
    if view.sessions:  # newest first
        queries.append(
            f"Observation?patient={p}&code={c.LOINC}|{c.LOINC_EXERCISE_ACTIVITY.code}&_sort=-date&_count=100"
        )
    if view.conditions:
        queries.append(f"Condition?patient={p}&_count=100")
    return queries


def submission(patient_id: str, submission_id: str) -> str:
    """The Observation a form submission recorded, if it was recorded already (a double submit)."""
    return f"Observation?identifier={c.SUBMISSION_IDENTIFIER}|{submission_id}&patient={patient_id}"


def by_id(resource_type: str, ids: Iterable[str]) -> list[str]:
    """One read per id."""
    return [f"{resource_type}/{rid}" for rid in ids]


def practitioners(limit: int = MAX_PRACTITIONERS) -> str:
    """The Practitioners a coordinator can assign Tasks to."""
    return f"Practitioner?_count={limit}"


def tasks_with_patients(task_ids: list[str]) -> Search:
    """These Tasks, with their patients, in one search.

    >>> tasks_with_patients(["1", "2"]).url()
    'Task?_id=1%2C2&_include=Task%3Apatient&_count=2'
    """
    return Search(
        "Task", [("_id", ",".join(task_ids)), ("_include", "Task:patient"), ("_count", str(len(task_ids)))]
    )


def latest_provenance(target: str) -> Search:
    """The most recent Provenance of one resource ("Task/1")."""
    return Search("Provenance", [("target", target), ("_sort", "-_lastUpdated"), ("_count", "1")])


def running_programs(limit: int = 200) -> str:
    """Every running program of this app, with its stage Tasks (for the follow-up check)."""
    return (
        f"CarePlan?status=active&identifier={c.EPISODE_IDENTIFIER}|&_revinclude=Task:based-on&_count={limit}"
    )


def recent_reports(since: str, limit: int = 1000) -> str:
    """Sessions the patients logged and pain scores since `since` (a FHIR date), all patients."""
    return (
        f"Observation?code={c.LOINC}|{c.LOINC_EXERCISE_ACTIVITY.code},{c.LOINC}|{c.LOINC_PAIN_0_10.code}"
        f"&date=ge{since}&_count={limit}"
    )


def program_guard(care_plan_id: str, patient_id: str) -> list[str]:
    """What decides whether a program is paused: its CarePlan (on hold?) and the patient's open
    red-flag reviews (a patient's self-check opens one; the plan may not be held yet).

    >>> program_guard("9", "7")[0]
    'CarePlan/9'
    """
    return [
        f"CarePlan/{care_plan_id}",
        f"Task?patient={patient_id}&code={c.APP_CODES}|{c.APP_MEDICAL_REVIEW.code}"
        f"&status={','.join(ACTIONABLE_STATUSES)}&_count=1",
    ]
