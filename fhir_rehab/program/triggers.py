"""When the program asks for a new red-flag screen or a progress review (pure, no I/O).

- A pain score of 8/10 or more, or one 3 or more points above the stage's first score, asks for a
  new screen before the next action (a follow-up Task goes on the worklist).
- Four weeks in a stage without a clinically meaningful improvement in pain (2 points, Ostelo
  et al. 2008) or Oswestry (10 points) raises a progress review: not a red flag, lower priority.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fhir_rehab.program.progression import ProgramState, Score

FLARE_PAIN = 8  # a pain score this high asks for a new screen
FLARE_RISE = 3  # so does a rise of this many points over the stage's first score
NO_IMPROVEMENT_AFTER = timedelta(weeks=4)
PAIN_IMPROVEMENT = 2  # points on the 0-10 scale that count as an improvement
ODI_IMPROVEMENT = 10  # Oswestry points that count as an improvement


@dataclass(frozen=True)
class Flare:
    """A pain score that asks for a new red-flag screen, and why, in words."""

    score: Score
    reason: str


def _in_stage(scores: Sequence[Score], since: datetime | None) -> list[Score]:
    return sorted((s for s in scores if since is None or s.when >= since), key=lambda s: s.when)


def flare_of(score: Score, first: Score | None) -> Flare | None:
    """Whether one score asks for a new screen, given the stage's first score.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> flare_of(Score(8, t), None).reason
    'pain 8/10'
    >>> flare_of(Score(6, t), Score(3, t)).reason
    'pain up from 3/10 to 6/10 in this stage'
    >>> flare_of(Score(5, t), Score(3, t)) is None
    True
    """
    if score.value >= FLARE_PAIN:
        return Flare(score, f"pain {score.value}/10")
    if first is not None and score.value - first.value >= FLARE_RISE:
        return Flare(score, f"pain up from {first.value}/10 to {score.value}/10 in this stage")
    return None


def latest_flare(pain: Sequence[Score], since: datetime | None) -> Flare | None:
    """The most recent flare among the pain scores taken since the stage began."""
    scores = _in_stage(pain, since)
    first = scores[0] if scores else None
    for score in reversed(scores):
        found = flare_of(score, first)
        if found:
            return found
    return None


def rescreen_needed(state: ProgramState) -> Flare | None:
    """A flare newer than the latest red-flag screen: screen again before the next action."""
    current = state.current
    flare = latest_flare(state.pain, current.active_since if current else None)
    screen = state.latest_screen
    if flare is None:
        return None
    if screen is None or screen.when is None or screen.when < flare.score.when:
        return flare
    return None


def no_improvement(
    pain: Sequence[Score], oswestry: Sequence[Score], since: datetime | None, now: datetime
) -> str | None:
    """Why a stage of four weeks or more shows no improvement, or None when it does (or is young).

    >>> from datetime import UTC, datetime, timedelta
    >>> start = datetime(2026, 1, 1, tzinfo=UTC)
    >>> later = start + timedelta(weeks=5)
    >>> no_improvement([Score(6, start), Score(6, later)], [], start, later)[:62]
    'after 5 weeks in this stage, pain has not improved (6/10 to 6/'
    >>> no_improvement([Score(6, start), Score(3, later)], [], start, later) is None
    True
    """
    if since is None or now - since < NO_IMPROVEMENT_AFTER:
        return None
    weeks = (now - since).days // 7
    pain_in = _in_stage(pain, since)
    odi = sorted(oswestry, key=lambda s: s.when)
    if len(pain_in) >= 2 and pain_in[0].value - pain_in[-1].value >= PAIN_IMPROVEMENT:
        return None
    if len(odi) >= 2 and odi[0].value - odi[-1].value >= ODI_IMPROVEMENT:
        return None
    pain_words = (
        f"pain has not improved ({pain_in[0].value}/10 to {pain_in[-1].value}/10)"
        if len(pain_in) >= 2
        else "no pain scores show improvement"
    )
    odi_words = (
        f"Oswestry has not improved ({odi[0].value} to {odi[-1].value})"
        if len(odi) >= 2
        else "no Oswestry score shows improvement"
    )
    return f"after {weeks} weeks in this stage, {pain_words} and {odi_words}"
