"""Plain words for the FHIR codes people see on the app's pages. Pure: no I/O.

Clinicians, coordinators and patients read these words, never the status or priority codes.
"""

from __future__ import annotations

from fhir_rehab.program.redflags import ESCALATIONS

# Task (R4 task-status) and CarePlan (R4 request-status) statuses.
STATUS_WORDS: dict[str, str] = {
    "draft": "not started",
    "requested": "not started",
    "received": "received",
    "accepted": "accepted",
    "ready": "ready to start",
    "in-progress": "under way",
    "on-hold": "on hold",
    "completed": "completed",
    "cancelled": "stopped",
    "failed": "stopped",
    "rejected": "declined",
    "entered-in-error": "entered in error",
    "active": "running",
    "revoked": "stopped",
    "unknown": "not known",
}

# Condition clinical and verification statuses (R4 condition-clinical, condition-ver-status).
CONDITION_WORDS: dict[str, str] = {
    "active": "active",
    "recurrence": "come back (recurrence)",
    "relapse": "come back (relapse)",
    "inactive": "no longer active",
    "remission": "in remission",
    "resolved": "resolved",
    "unconfirmed": "not confirmed",
    "provisional": "provisional diagnosis",
    "differential": "one of several possible diagnoses",
    "confirmed": "confirmed",
    "refuted": "ruled out",
    "entered-in-error": "entered in error",
}

# R4 request-priority: a review's priority is its escalation level's name.
PRIORITY_WORDS: dict[str, str] = {
    "routine": "Routine",
    **{e.priority: e.name for e in ESCALATIONS.values()},
}


def status_words(status: str | None) -> str:
    """A status in plain words (an unknown code is shown as it is, never hidden).

    >>> status_words("in-progress"), status_words("revoked"), status_words(None)
    ('under way', 'stopped', '')
    """
    return STATUS_WORDS.get(status or "", status or "")


def priority_words(priority: str | None) -> str:
    """
    >>> priority_words("stat"), priority_words("asap"), priority_words("urgent"), priority_words(None)
    ('Emergency', 'Same day', 'Within days', '')
    """
    return PRIORITY_WORDS.get(priority or "", priority or "")


def condition_words(status: str | None) -> str:
    """A Condition's clinical or verification status in plain words ("not recorded" if absent).

    >>> condition_words("refuted"), condition_words("entered-in-error"), condition_words(None)
    ('ruled out', 'entered in error', 'not recorded')
    """
    return CONDITION_WORDS.get(status or "", status or "not recorded")
