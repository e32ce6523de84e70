"""Stage progression: which measured criteria are met, and the program state the app shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fhir_rehab.program.assessment import Assessment, slr_improvement
from fhir_rehab.program.lifecycle import OPEN_STATUSES
from fhir_rehab.program.model import Exercise, Program, Stage
from fhir_rehab.program.redflags import ScreenSummary
from fhir_rehab.program.review import ReviewState
from fhir_rehab.program.tailoring import Prescribed

__all__ = ["ProgramState", "ProgressionCheck", "Score", "ScreenSummary", "StageState", "check_progression"]


@dataclass(frozen=True)
class Score:
    """One recorded score (pain 0-10, or Oswestry 0-100 %) and when it was taken."""

    value: int
    when: datetime
    observation_id: str = ""
    by_patient: bool = False  # reported by the patient themselves (their own app)


@dataclass(frozen=True)
class ProgressionCheck:
    """Measured criteria: which are met and which are not, in words."""

    met: tuple[str, ...]
    unmet: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.unmet


def check_progression(
    stage: Stage,
    pain: Sequence[Score],
    started: datetime | None,
    now: datetime,
    oswestry: Sequence[Score] = (),
    assessments: Sequence[Assessment] = (),
) -> ProgressionCheck:
    """Check a stage's measured progression criteria against the scores taken in it.

    The clinician judges the clinical criteria; the app shows these as guidance and still lets
    the clinician complete a stage early (with the unmet criteria on record).
    """
    met: list[str] = []
    unmet: list[str] = []
    rule = stage.progression
    if rule.max_pain is not None:
        in_stage = sorted((p for p in pain if started is None or p.when >= started), key=lambda p: p.when)
        recent = in_stage[-rule.pain_readings :]
        label = f"pain {rule.max_pain}/10 or less on the last {rule.pain_readings} readings"
        if len(recent) < rule.pain_readings:
            unmet.append(f"{label} (only {len(recent)} recorded in this stage)")
        elif all(p.value <= rule.max_pain for p in recent):
            met.append(label)
        else:
            unmet.append(f"{label} (latest: {', '.join(str(p.value) for p in recent)})")
    if rule.function_gain is not None:
        _check_function(rule.function_gain, oswestry, met, unmet)
    if rule.slr_gain is not None:
        label = f"straight-leg raise at least {rule.slr_gain} degrees better than at the assessment"
        if len(assessments) < 2:
            unmet.append(f"{label} (needs the assessment and a re-assessment; {len(assessments)} recorded)")
        else:
            better, words = slr_improvement(assessments[0], assessments[-1], rule.slr_gain)
            (met if better else unmet).append(f"{label} ({words})")
    if rule.min_days:
        days = (now - started).days if started else 0
        label = f"at least {rule.min_days} days in this stage"
        (met if days >= rule.min_days else unmet).append(
            label if days >= rule.min_days else f"{label} ({days} so far)"
        )
    return ProgressionCheck(tuple(met), tuple(unmet))


def _check_function(gain: int, oswestry: Sequence[Score], met: list[str], unmet: list[str]) -> None:
    """Oswestry (lower is better) down at least `gain` points from the first score on record."""
    label = f"Oswestry score at least {gain} points below the baseline"
    ordered = sorted(oswestry, key=lambda s: s.when)
    if len(ordered) < 2:
        unmet.append(f"{label} (needs a baseline and a new score; {len(ordered)} recorded)")
        return
    drop = ordered[0].value - ordered[-1].value
    (met if drop >= gain else unmet).append(
        label if drop >= gain else f"{label} ({ordered[0].value} -> {ordered[-1].value})"
    )


@dataclass(frozen=True)
class StageState:
    """A stage of one patient's program, as its Task says."""

    stage: Stage
    task_id: str
    status: str
    version: str | None = None
    business_status: str | None = None
    started: datetime | None = None
    ended: datetime | None = None
    planned_start: str | None = None
    planned_end: str | None = None
    owner: str | None = None
    status_reason: str | None = None
    exercises: tuple[Exercise, ...] = ()
    ready_since: datetime | None = None  # when the stage was handed to the patient
    prescriptions: tuple[Prescribed, ...] = ()  # tailored exercises (ServiceRequests), if any

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def was_started(self) -> bool:
        """Work on the stage began. A stage cancelled before it started has no start (older
        records carry the cancellation time as both start and end: not a start either)."""
        if self.started is None:
            return False
        return not (self.status in ("cancelled", "failed") and self.started == self.ended)

    @property
    def active_since(self) -> datetime | None:
        """When work on the stage began: its execution start, else when it became ready."""
        return self.started or self.ready_since


@dataclass(frozen=True)
class FollowUp:
    """An open follow-up Task the program raised (repeat screen, progress review)."""

    task_id: str
    code: str
    status: str
    version: str | None = None


@dataclass(frozen=True)
class ProgramState:
    """Everything the app knows about one patient's program, rebuilt from FHIR."""

    program: Program
    patient_id: str
    careplan_id: str | None = None
    careplan_status: str | None = None
    careplan_version: str | None = None
    condition_id: str | None = None
    stages: tuple[StageState, ...] = ()
    goal_ids: tuple[str, ...] = ()
    latest_screen: ScreenSummary | None = None
    pain: tuple[Score, ...] = ()
    oswestry: tuple[Score, ...] = ()
    assessments: tuple[Assessment, ...] = ()  # oldest first: the first is the baseline
    review_task_ids: tuple[str, ...] = field(default_factory=tuple)  # open red-flag reviews
    reviews: tuple[ReviewState, ...] = field(default_factory=tuple)  # every review read
    follow_ups: tuple[FollowUp, ...] = field(default_factory=tuple)  # open follow-ups
    episodes: int = 0  # how many program CarePlans the patient has had, this one included

    @property
    def started(self) -> bool:
        return self.careplan_id is not None

    @property
    def current(self) -> StageState | None:
        """The stage being worked on: the first open stage that is not a draft."""
        for state in self.stages:
            if state.is_open and state.status != "draft":
                return state
        return None

    @property
    def latest_assessment(self) -> Assessment | None:
        return self.assessments[-1] if self.assessments else None

    @property
    def paused(self) -> bool:
        """No exercise now: the program is on hold, or an urgent review is open (a patient's
        self-check opens one without changing the plan itself). Fails closed."""
        return self.careplan_status == "on-hold" or bool(self.review_task_ids)

    @property
    def latest_pain(self) -> Score | None:
        return max(self.pain, key=lambda p: p.when) if self.pain else None
