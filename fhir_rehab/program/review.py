"""The medical review a red flag calls for: its outcomes and what each does to the program.

Pure domain. A review is closed only by a clinician recording one of `OUTCOMES`; nothing closes
it as a side effect. While any review is open the program neither starts nor resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fhir_rehab import codes as c
from fhir_rehab.program.lifecycle import ACTIONABLE_STATUSES
from fhir_rehab.program.redflags import ESCALATIONS, Escalation, level_for_priority


class Outcome(StrEnum):
    """What the reviewing clinician decided."""

    CLEARED = "cleared"  # cleared to continue the program
    EMERGENCY = "referred-emergency"  # referred to emergency care
    SPECIALIST = "referred-specialist"  # referred for urgent specialist review or imaging
    STOPPED = "stopped"  # the exercise program is stopped


@dataclass(frozen=True)
class OutcomeRule:
    """One outcome in words, and what it does to the program."""

    outcome: Outcome
    code: c.Code
    effect: str  # what happens to the program, in words
    program: str  # "resumable" | "hold" | "revoke"

    @property
    def label(self) -> str:
        return self.code.display

    @property
    def closes(self) -> bool:
        """Cleared and stopped close the review; a referral keeps it open (and the hold on)
        until the reviewer records the result of the referral."""
        return self.program != "hold"


OUTCOMES: dict[Outcome, OutcomeRule] = {
    Outcome.CLEARED: OutcomeRule(
        Outcome.CLEARED,
        c.REVIEW_CLEARED,
        "The review is closed. The program may be resumed once a new red-flag screen is clear.",
        "resumable",
    ),
    Outcome.EMERGENCY: OutcomeRule(
        Outcome.EMERGENCY,
        c.REVIEW_REFERRED_EMERGENCY,
        "The review stays open and the program stays on hold until you record the result.",
        "hold",
    ),
    Outcome.SPECIALIST: OutcomeRule(
        Outcome.SPECIALIST,
        c.REVIEW_REFERRED_SPECIALIST,
        "The review stays open and the program stays on hold until you record the result.",
        "hold",
    ),
    Outcome.STOPPED: OutcomeRule(
        Outcome.STOPPED,
        c.REVIEW_STOPPED,
        "The review is closed; the program is ended and its open stages cancelled.",
        "revoke",
    ),
}


def outcome_for_code(system: str, code: str) -> Outcome | None:
    for rule in OUTCOMES.values():
        if (rule.code.system, rule.code.code) == (system, code):
            return rule.outcome
    return None


def parse_outcome(value: str | None) -> Outcome | None:
    """
    >>> parse_outcome("cleared"), parse_outcome("nonsense")
    (<Outcome.CLEARED: 'cleared'>, None)
    """
    try:
        return Outcome(value or "")
    except ValueError:
        return None


@dataclass(frozen=True)
class ReviewState:
    """One medical-review Task as the app reads it."""

    task_id: str
    status: str
    priority: str | None
    findings: str  # the red flags it is about, in words
    owner_name: str | None = None
    owner: str | None = None
    authored: datetime | None = None
    due: datetime | None = None
    version: str | None = None
    outcome: Outcome | None = None  # recorded outcome, once closed
    reviewer: str | None = None
    note: str = ""
    red_flag: bool = True  # False: a progress review (no improvement), not a red flag
    by_patient: bool = False  # raised by the patient's own self-check (requester: the Patient)

    @property
    def escalation(self) -> Escalation | None:
        level = level_for_priority(self.priority)
        return ESCALATIONS[level] if level else None

    @property
    def outcome_label(self) -> str:
        return OUTCOMES[self.outcome].label if self.outcome else ""

    @property
    def is_open(self) -> bool:
        return self.status in ACTIONABLE_STATUSES

    def describe(self) -> str:
        """The review in plain words, naming who has it.

        >>> ReviewState("1", "requested", "stat", "Saddle anaesthesia").describe()
        'the emergency medical review for Saddle anaesthesia (not yet assigned to anyone)'
        >>> ReviewState("1", "accepted", "asap", "Pain after trauma", "Dr Lee").describe()
        'the same-day medical review for Pain after trauma (with Dr Lee)'
        """
        esc = self.escalation
        kind = esc.review_name if esc else "medical review"
        who = f"with {self.owner_name}" if self.owner_name else "not yet assigned to anyone"
        return f"the {kind} for {self.findings} ({who})"


def blocking_reviews(reviews: tuple[ReviewState, ...]) -> tuple[ReviewState, ...]:
    """Open red-flag reviews: while any is open the program neither starts nor resumes."""
    return tuple(r for r in reviews if r.is_open and r.red_flag)


def refusal_for(reviews: tuple[ReviewState, ...], action: str) -> str | None:
    """The sentence that refuses `action` while a review is open, or None.

    (Doctest output wrapped with NORMALIZE_WHITESPACE.)

    >>> print(refusal_for((ReviewState("1", "requested", "stat", "Saddle anaesthesia"),), "start"))
    ... # doctest: +NORMALIZE_WHITESPACE
    The program cannot start while the emergency medical review for Saddle anaesthesia (not yet
    assigned to anyone) is open: a clinician must record its outcome first.
    """
    open_ = blocking_reviews(reviews)
    if not open_:
        return None
    named = "; ".join(r.describe() for r in open_)
    verb = {"start": "start", "resume": "resume"}.get(action, action)
    return (
        f"The program cannot {verb} while {named} "
        f"{'is' if len(open_) == 1 else 'are'} open: a clinician must record "
        f"{'its' if len(open_) == 1 else 'their'} outcome first."
    )
