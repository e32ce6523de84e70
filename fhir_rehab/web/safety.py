"""What the clinician's pages show while a red flag holds the program: the stop banner's facts."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_rehab.program.progression import ProgramState
from fhir_rehab.program.redflags import ESCALATIONS, LEVEL_ORDER, Escalation, Level
from fhir_rehab.program.review import ReviewState, blocking_reviews


@dataclass(frozen=True)
class Hold:
    """A program on hold for a red flag: the advice to give and the reviews that block it."""

    escalation: Escalation | None  # None once every review is recorded and the screen is clear
    reviews: tuple[ReviewState, ...]
    plan_on_hold: bool = True  # False: paused by an open review, the EHR record's plan still running
    by_patient: bool = False  # an open review came from the patient's own self-check

    @property
    def can_resume(self) -> bool:
        return not self.reviews and self.plan_on_hold


def hold_of(state: ProgramState) -> Hold | None:
    """The red-flag hold on this program (on hold, or paused by an open review), or None.

    The advice is the most urgent level among the open reviews and the latest screen; an open
    review whose level cannot be read gets the emergency advice (fail closed).
    """
    if not state.paused:
        return None
    reviews = blocking_reviews(state.reviews)
    levels = {r.escalation.level for r in reviews if r.escalation}
    screen = state.latest_screen
    if screen is not None and screen.escalation is not None:
        levels.add(screen.escalation.level)
    level = next((lv for lv in LEVEL_ORDER if lv in levels), None)
    if level is None and reviews:
        level = Level.EMERGENCY
    return Hold(
        ESCALATIONS[level] if level else None,
        reviews,
        state.careplan_status == "on-hold",
        any(r.by_patient for r in reviews),
    )
