"""Domain types of the staged program: dosage, exercises, stages, progression criteria."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from fhir_rehab.codes import Code

_TIMES = {1: "once", 2: "twice", 3: "three times"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Default training days for a number of days a week: spread out, rest days between strength days.
DEFAULT_DAYS: dict[int, tuple[str, ...]] = {
    1: ("sat",),
    2: ("tue", "fri"),
    3: ("mon", "wed", "fri"),
    4: ("mon", "tue", "thu", "fri"),
    5: ("mon", "tue", "wed", "thu", "fri"),
    6: ("mon", "tue", "wed", "thu", "fri", "sat"),
    7: WEEKDAYS,
}


class Direction(StrEnum):
    """Which way an exercise moves the lower back (for a directional preference)."""

    FLEXION = "flexion"
    EXTENSION = "extension"
    NEUTRAL = "neutral"


class Precaution(StrEnum):
    """What the assessment can record that rules some exercises out (or calls for care)."""

    OSTEOPOROSIS = "osteoporosis"
    PREGNANCY = "pregnancy"
    RECENT_SURGERY = "recent-surgery"  # spinal surgery in the last 3 months
    STENOSIS = "stenosis"  # lumbar stenosis symptoms
    ANTICOAGULANTS = "anticoagulants"


PRECAUTION_LABELS: dict[Precaution, str] = {
    Precaution.OSTEOPOROSIS: "osteoporosis",
    Precaution.PREGNANCY: "pregnancy",
    Precaution.RECENT_SURGERY: "spinal surgery in the last 3 months",
    Precaution.STENOSIS: "lumbar stenosis symptoms",
    Precaution.ANTICOAGULANTS: "anticoagulants (blood thinners)",
}
LEVELS = {1: "easy", 2: "moderate", 3: "harder"}


def _count(n: int, noun: str) -> str:
    """
    >>> _count(1, "minute"), _count(3, "set")
    ('1 minute', '3 sets')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class Dosage:
    """How much of an exercise: sets, reps or hold time, and how often."""

    sets: int | None = None
    reps: int | None = None
    hold_seconds: int | None = None
    minutes: int | None = None
    times_per_day: int = 1
    days_per_week: int = 7
    each_side: bool = False

    def __post_init__(self) -> None:
        for name in ("sets", "reps", "hold_seconds", "minutes"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 600:
                raise ValueError(f"{name} must be between 1 and 600")
        if not 1 <= self.times_per_day <= 12:
            raise ValueError("times a day must be between 1 and 12")
        if not 1 <= self.days_per_week <= 7:
            raise ValueError("days a week must be between 1 and 7")
        if not (self.reps or self.hold_seconds or self.minutes):
            raise ValueError("a dose needs repetitions, a hold time or minutes")

    @property
    def days(self) -> tuple[str, ...]:
        """The training days the structured schedule names (FHIR Timing.repeat.dayOfWeek)."""
        return DEFAULT_DAYS[self.days_per_week]

    def describe(self) -> str:
        """Plain-language dosage for the home exercise sheet.

        >>> Dosage(sets=3, reps=10, times_per_day=2).describe()
        '3 sets of 10 repetitions, twice a day, every day'
        >>> Dosage(reps=3, hold_seconds=30, each_side=True, days_per_week=3).describe()
        '3 repetitions each side, hold 30 seconds, once a day, 3 days a week'
        >>> Dosage(minutes=10, times_per_day=3).describe()
        '10 minutes, three times a day, every day'
        """
        parts = []
        side = " each side" if self.each_side else ""
        if self.sets and self.reps:
            parts.append(f"{_count(self.sets, 'set')} of {_count(self.reps, 'repetition')}{side}")
        elif self.reps:
            parts.append(f"{_count(self.reps, 'repetition')}{side}")
        if self.hold_seconds:
            parts.append(f"hold {_count(self.hold_seconds, 'second')}")
        if self.minutes:
            parts.append(_count(self.minutes, "minute"))
        parts.append(f"{_TIMES.get(self.times_per_day, f'{self.times_per_day} times')} a day")
        parts.append("every day" if self.days_per_week == 7 else f"{self.days_per_week} days a week")
        return ", ".join(parts)


@dataclass(frozen=True)
class Exercise:
    """One library exercise: plain-word instructions, default dose and what it suits.

    `slot` is the role it plays in a stage (e.g. "spinal-mobility"): exercises of the same slot
    can stand in for one another. `avoid` lists precautions that rule it out; `nerve_tension`
    marks exercises that load the sciatic nerve (pins and needles are a stop sign there).
    """

    key: str
    name: str
    instructions: str
    dosage: Dosage
    code: Code
    caution: str = ""
    stages: tuple[int, ...] = ()
    slot: str = ""
    level: int = 1
    equipment: tuple[str, ...] = ()
    direction: Direction = Direction.NEUTRAL
    avoid: frozenset[Precaution] = frozenset()
    nerve_tension: bool = False
    regression: str | None = None  # key of an easier version
    progression: str | None = None  # key of a harder version

    @property
    def level_label(self) -> str:
        return LEVELS.get(self.level, str(self.level))


@dataclass(frozen=True)
class Progression:
    """When a stage may be completed: measured criteria the app checks, and clinical ones.

    `max_pain` is checked against the last `pain_readings` scores (0-10) recorded in the stage;
    `min_days` is the shortest time in the stage. `clinical` lists what the clinician judges.
    """

    max_pain: int | None
    min_days: int
    pain_readings: int = 2
    clinical: tuple[str, ...] = ()
    function_gain: int | None = None  # Oswestry points below the program's baseline
    slr_gain: int | None = None  # straight-leg raise degrees better than at the assessment

    def describe(self) -> tuple[str, ...]:
        """All criteria as sentences, measured ones first."""
        measured = []
        if self.max_pain is not None:
            readings = "reading" if self.pain_readings == 1 else f"{self.pain_readings} readings"
            measured.append(f"Pain {self.max_pain}/10 or less on the last {readings} in this stage")
        if self.function_gain is not None:
            measured.append(
                f"Oswestry Disability Index at least {self.function_gain} points below its baseline"
            )
        if self.slr_gain is not None:
            measured.append(
                f"Straight-leg raise at least {self.slr_gain} degrees better than at the assessment, "
                "or no longer bringing on leg pain"
            )
        if self.min_days:
            measured.append(f"At least {self.min_days} days in this stage")
        return (*measured, *self.clinical)


@dataclass(frozen=True)
class Stage:
    """One stage of the program."""

    number: int
    key: str
    title: str
    summary: str
    code: Code
    typical_weeks: int
    goals: tuple[str, ...]
    exercises: tuple[Exercise, ...]
    education: tuple[str, ...]
    progression: Progression

    @property
    def is_final(self) -> bool:
        return self.progression.max_pain is None and not self.progression.min_days


@dataclass(frozen=True)
class Program:
    """A versioned, publishable program definition with a canonical URL."""

    url: str
    version: str
    name: str
    title: str
    description: str
    publisher: str
    stages: tuple[Stage, ...] = field(default_factory=tuple)
    library: tuple[Exercise, ...] = field(default_factory=tuple)  # every exercise on offer

    @property
    def canonical(self) -> str:
        """`url|version`, as instances point back to it."""
        return f"{self.url}|{self.version}"

    def stage(self, number: int) -> Stage:
        for stage in self.stages:
            if stage.number == number:
                return stage
        raise KeyError(f"no stage {number} in {self.name}")

    def stage_by_key(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(f"no stage {key!r} in {self.name}")

    def window(self, number: int) -> tuple[timedelta, timedelta]:
        """When stage `number` starts and is due, counted from the program's start: the stages
        run one after another, each for its typical weeks. The one due-date rule (CarePlan
        windows, Task.restriction.period and the worklist's due dates all come from it).

        >>> from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as p
        >>> [offset.days for offset in p.window(2)]
        [14, 35]
        """
        start = timedelta()
        for stage in sorted(self.stages, key=lambda s: s.number):
            end = start + timedelta(weeks=stage.typical_weeks)
            if stage.number == number:
                return start, end
            start = end
        raise KeyError(f"no stage {number} in {self.name}")

    def next_stage(self, number: int) -> Stage | None:
        later = [s for s in self.stages if s.number > number]
        return min(later, key=lambda s: s.number) if later else None

    def exercise(self, key: str) -> Exercise:
        for exercise in self.all_exercises():
            if exercise.key == key:
                return exercise
        raise KeyError(f"no exercise {key!r} in {self.name}")

    def all_exercises(self) -> tuple[Exercise, ...]:
        """The library, then any stage default not in it (each key once)."""
        seen: dict[str, Exercise] = {e.key: e for e in self.library}
        for stage in self.stages:
            for exercise in stage.exercises:
                seen.setdefault(exercise.key, exercise)
        return tuple(seen.values())

    def exercises_for(self, number: int) -> tuple[Exercise, ...]:
        """Library exercises suited to stage `number` (the clinician's choice list)."""
        return tuple(e for e in self.all_exercises() if number in e.stages)
