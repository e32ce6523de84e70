"""What the patient does at home: sessions logged, adherence per week, follow-up rules. Pure.

A session is one round of the current stage's exercises (all of them, or the ones the patient
ticked). A stage prescribes as many sessions a week as the median of its exercises' weekly
rounds (times a day x days a week): twice a day every day is 14, three days a week is 3; one
exercise done far more often (hourly posture breaks) does not inflate the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median_low

from fhir_rehab.program.model import Stage
from fhir_rehab.program.progression import Score

NO_SESSION_DAYS = 7  # follow up when nothing was logged for this long
PAIN_RISE = 3  # follow up when pain rises this much over the stage's first score
PAIN_UP = "pain-up"  # the key of that follow-up


@dataclass(frozen=True)
class ExerciseSession:
    """One session the patient logged: when, and which of the stage's exercises they did."""

    when: datetime
    exercises: tuple[str, ...]  # exercise keys
    observation_id: str = ""


def prescribed_per_week(stage: Stage) -> int:
    """Sessions a week the stage prescribes (median of its exercises' weekly rounds).

    >>> from fhir_rehab.program.sciatica import STAGE_1, STAGE_3, STAGE_4
    >>> prescribed_per_week(STAGE_1), prescribed_per_week(STAGE_3), prescribed_per_week(STAGE_4)
    (14, 3, 4)
    """
    rounds = [e.dosage.times_per_day * e.dosage.days_per_week for e in stage.exercises]
    return int(median_low(rounds)) if rounds else 0


@dataclass(frozen=True)
class WeekAdherence:
    """Sessions done in one week (Monday to Sunday) against what the stage prescribes."""

    start: date
    done: int
    prescribed: int

    @property
    def percent(self) -> int:
        """
        >>> WeekAdherence(date(2026, 1, 5), 7, 14).percent, WeekAdherence(date(2026, 1, 5), 9, 5).percent
        (50, 100)
        """
        if not self.prescribed:
            return 0
        return min(100, round(100 * self.done / self.prescribed))


def weekly_adherence(
    sessions: Sequence[ExerciseSession],
    stage: Stage,
    now: datetime,
    weeks: int = 6,
    since: datetime | None = None,
) -> list[WeekAdherence]:
    """The last `weeks` calendar weeks (oldest first, this week last), never before `since`.

    >>> from fhir_rehab.program.sciatica import STAGE_3
    >>> now = datetime(2026, 1, 14, 12)  # a Wednesday
    >>> logs = [ExerciseSession(datetime(2026, 1, d, 9), ()) for d in (5, 6, 13)]
    >>> [(w.start.day, w.done, w.prescribed) for w in weekly_adherence(logs, STAGE_3, now, weeks=2)]
    [(5, 2, 3), (12, 1, 3)]
    """
    monday = (now - timedelta(days=now.weekday())).date()
    first = monday - timedelta(weeks=weeks - 1)
    if since is not None:
        first = max(first, (since - timedelta(days=since.weekday())).date())
    out = []
    start = first
    while start <= monday:
        end = start + timedelta(days=7)
        done = sum(1 for s in sessions if start <= s.when.date() < end)
        out.append(WeekAdherence(start, done, prescribed_per_week(stage)))
        start = end
    return out


@dataclass(frozen=True)
class FollowUp:
    """A reason for the care team to contact the patient; `key` makes it unique per episode."""

    key: str
    reason: str


def follow_ups(
    sessions: Sequence[ExerciseSession],
    pain: Sequence[Score],
    stage_number: int,
    stage_since: datetime | None,
    now: datetime,
) -> list[FollowUp]:
    """The follow-ups a running stage needs now: no session for 7 days, or pain up 3 or more
    points over the stage's first score. Keys name the stage (and, for silence, the last
    session), so the same situation never raises two Tasks.

    >>> start = datetime(2026, 1, 1)
    >>> pain = [Score(3, datetime(2026, 1, 2)), Score(6, datetime(2026, 1, 9))]
    >>> [f.key for f in follow_ups([], pain, 1, start, datetime(2026, 1, 10))]
    ['no-session.stage-1.since-2026-01-01', 'pain-up.stage-1']
    >>> follow_ups([ExerciseSession(datetime(2026, 1, 9), ())], pain[:1], 1, start, datetime(2026, 1, 10))
    []
    """
    out = []
    if stage_since is not None:
        last = max((s.when for s in sessions if s.when >= stage_since), default=None)
        quiet_since = last or stage_since
        if now - quiet_since >= timedelta(days=NO_SESSION_DAYS):
            out.append(
                FollowUp(
                    f"no-session.stage-{stage_number}.since-{quiet_since:%Y-%m-%d}",
                    f"No exercise session logged for {(now - quiet_since).days} days",
                )
            )
    in_stage = sorted((p for p in pain if stage_since is None or p.when >= stage_since), key=lambda p: p.when)
    if in_stage:
        first, worst = in_stage[0], max(in_stage[1:], key=lambda p: p.value, default=None)
        if worst is not None and worst.value - first.value >= PAIN_RISE:
            out.append(
                FollowUp(
                    f"{PAIN_UP}.stage-{stage_number}",
                    f"Pain up from {first.value}/10 to {worst.value}/10 in this stage",
                )
            )
    return out
