"""Tailoring a stage's exercises to one patient: defaults from the assessment, and conflicts. Pure.

The directional preference and precautions recorded at the assessment choose the defaults: an
exercise that moves the back the other way, or that a precaution rules out, is replaced by one
of the same role (slot) that fits. Whatever the clinician then picks is checked again; each
conflict is a warning the clinician must confirm, and the confirmation is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from fhir_rehab.program.assessment import Assessment
from fhir_rehab.program.model import (
    PRECAUTION_LABELS,
    Direction,
    Dosage,
    Exercise,
    Precaution,
    Program,
    Stage,
)

SIDES = ("both", "left", "right")
MAX_NOTE = 300
MAX_PER_STAGE = 8


@dataclass(frozen=True)
class Profile:
    """What tailoring needs from the assessment."""

    preference: Direction | None = None
    precautions: frozenset[Precaution] = frozenset()

    @classmethod
    def of(cls, assessment: Assessment | None) -> Profile:
        if assessment is None:
            return cls()
        return cls(assessment.preference, assessment.precautions)


@dataclass(frozen=True)
class Prescribed:
    """One exercise as prescribed for this patient (with the server's id once written)."""

    exercise: Exercise
    dosage: Dosage
    side: str = "both"
    note: str = ""
    confirmed: tuple[str, ...] = ()  # conflicts the clinician confirmed, in words
    request_id: str | None = None
    version: str | None = None
    status: str = "active"

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError("side must be both, left or right")
        if len(self.note) > MAX_NOTE:
            raise ValueError(f"a note to the patient is at most {MAX_NOTE} characters")

    @property
    def as_exercise(self) -> Exercise:
        """The library exercise with this patient's dose (what pages and sheets show)."""
        return replace(self.exercise, dosage=self.dosage)

    @property
    def side_words(self) -> str:
        return {"both": "", "left": "Left side only.", "right": "Right side only."}[self.side]

    def patient_instruction(self) -> str:
        """The words the patient reads: instructions, dose, side, care point, the note."""
        parts = [f"{self.exercise.name}: {self.exercise.instructions}", f"Dose: {self.dosage.describe()}."]
        if self.side_words:
            parts.append(self.side_words)
        if self.exercise.caution:
            parts.append(f"Take care: {self.exercise.caution}")
        if self.note:
            parts.append(f"From your physiotherapist: {self.note}")
        return " ".join(parts)


def _opposite(preference: Direction | None) -> Direction | None:
    if preference is Direction.EXTENSION:
        return Direction.FLEXION
    if preference is Direction.FLEXION:
        return Direction.EXTENSION
    return None


def conflicts(exercise: Exercise, profile: Profile) -> tuple[str, ...]:
    """Why this exercise may not suit this patient, in words (empty: no conflict).

    >>> from fhir_rehab.program.library import library_exercise
    >>> stenosis = Profile(Direction.FLEXION, frozenset({Precaution.STENOSIS}))
    >>> for words in conflicts(library_exercise("prone-press-up"), stenosis):
    ...     print(words)
    Prone press-ups bends the back backwards; the assessment found a preference for bending forwards.
    Prone press-ups is best avoided with lumbar stenosis symptoms.
    """
    out = []
    if exercise.direction is not Direction.NEUTRAL and exercise.direction is _opposite(profile.preference):
        way = "forwards" if exercise.direction is Direction.FLEXION else "backwards"
        pref = "backwards" if way == "forwards" else "forwards"
        out.append(
            f"{exercise.name} bends the back {way}; the assessment found a preference for bending {pref}."
        )
    for precaution in sorted(exercise.avoid & profile.precautions):
        out.append(f"{exercise.name} is best avoided with {PRECAUTION_LABELS[precaution]}.")
    return tuple(out)


def _score(candidate: Exercise, wanted: Exercise, profile: Profile) -> tuple[int, int, str]:
    matches = 0 if profile.preference and candidate.direction is profile.preference else 1
    return matches, abs(candidate.level - wanted.level), candidate.key


def alternatives(program: Program, stage: Stage, exercise: Exercise, profile: Profile) -> list[Exercise]:
    """Exercises of the same slot in this stage that fit the profile, best first."""
    pool = [
        e
        for e in program.exercises_for(stage.number)
        if e.slot == exercise.slot and e.key != exercise.key and not conflicts(e, profile)
    ]
    return sorted(pool, key=lambda e: _score(e, exercise, profile))


@dataclass(frozen=True)
class Proposal:
    """The defaults for one stage and what was changed from the standard set, in words."""

    items: tuple[Prescribed, ...]
    changes: tuple[str, ...]


def propose_stage(program: Program, stage: Stage, profile: Profile) -> Proposal:
    """The stage's standard exercises, with any that conflict replaced by a fitting one.

    With a directional preference, a spinal-mobility exercise of the preferred direction is
    chosen when the stage offers one. An exercise with no fitting replacement is left out.
    """
    items: list[Prescribed] = []
    changes: list[str] = []
    for exercise in stage.exercises:
        chosen: Exercise | None = exercise
        if conflicts(exercise, profile) or _prefers_other(program, stage, exercise, profile):
            options = alternatives(program, stage, exercise, profile)
            chosen = options[0] if options else None
            if chosen is None:
                changes.append(f"{exercise.name} left out: " + " ".join(conflicts(exercise, profile)))
            else:
                changes.append(f"{exercise.name} replaced by {chosen.name} to suit the assessment.")
        if chosen is not None and all(i.exercise.key != chosen.key for i in items):
            items.append(Prescribed(chosen, chosen.dosage))
    return Proposal(tuple(items), tuple(changes))


def _prefers_other(program: Program, stage: Stage, exercise: Exercise, profile: Profile) -> bool:
    """A spinal-mobility exercise not in the preferred direction, when one that is exists."""
    if profile.preference in (None, Direction.NEUTRAL) or exercise.slot != "spinal-mobility":
        return False
    if exercise.direction is profile.preference:
        return False
    return any(e.direction is profile.preference for e in alternatives(program, stage, exercise, profile))


def unconfirmed(items: Sequence[Prescribed], profile: Profile) -> list[tuple[Prescribed, tuple[str, ...]]]:
    """Prescribed exercises whose conflicts the clinician has not confirmed."""
    out = []
    for item in items:
        open_ = tuple(w for w in conflicts(item.exercise, profile) if w not in item.confirmed)
        if open_:
            out.append((item, open_))
    return out
