"""The baseline assessment (stage 1's "detailed assessment") and the rules that read it. Pure.

Oswestry: the app keeps section names and 0-5 scores only (no questionnaire wording). The
percentage follows the instrument's rule for unanswered sections: total / (5 x sections
answered) x 100; with more than two sections unanswered no percentage is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fhir_rehab.program.errors import AssessmentError
from fhir_rehab.program.model import Direction, Precaution
from fhir_rehab.program.oswestry import MIN_ANSWERED, SECTION_KEYS, SECTIONS, oswestry_index

# The instrument's ten sections (program.oswestry, the one definition), as the assessment form
# names them; the percentage follows the same rule as the patient's weekly self-report.
ODI_SECTION_NAMES = tuple(section.title.removesuffix(" (if it applies)") for section in SECTIONS)
ODI_MIN_ANSWERED = MIN_ANSWERED
REFLEXES = ("normal", "reduced", "absent")
SIDES = ("left", "right")


class StartBack(StrEnum):
    """STarT Back risk group (the tool's wording is not shipped; only the group)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def odi_percent(sections: Sequence[int | None]) -> int | None:
    """Oswestry percentage from ten section scores (None = unanswered).

    >>> odi_percent([2] * 10)
    40
    >>> odi_percent([2] * 9 + [None])  # one unanswered: 18 / 45
    40
    >>> odi_percent([5, 5, 5, 5, 5, 5, 5, None, None, None]) is None
    True
    """
    answered = {key: score for key, score in zip(SECTION_KEYS, sections, strict=False) if score is not None}
    if len(answered) < ODI_MIN_ANSWERED:
        return None
    return oswestry_index(answered)


@dataclass(frozen=True)
class SideFindings:
    """Straight-leg raise and neurological findings for one leg (None = not examined)."""

    slr_angle: int | None = None
    slr_leg_pain: bool | None = None
    weak_l4: bool | None = None
    weak_l5: bool | None = None
    weak_s1: bool | None = None
    sensory_change: bool | None = None
    knee_reflex: str | None = None
    ankle_reflex: str | None = None

    @property
    def examined(self) -> bool:
        return any(v is not None for v in vars(self).values())

    @property
    def neuro_examined(self) -> bool:
        return any(
            v is not None
            for v in (
                self.weak_l4,
                self.weak_l5,
                self.weak_s1,
                self.sensory_change,
                self.knee_reflex,
                self.ankle_reflex,
            )
        )


@dataclass(frozen=True)
class Assessment:
    """One assessment: only pain is required (leg or back)."""

    leg_pain: int | None = None
    back_pain: int | None = None
    odi_sections: tuple[int | None, ...] = (None,) * 10
    odi_total: int | None = None  # a percentage given directly, when sections were not entered
    left: SideFindings = field(default_factory=SideFindings)
    right: SideFindings = field(default_factory=SideFindings)
    preference: Direction | None = None  # None: not assessed; NEUTRAL: no preference found
    startback: StartBack | None = None
    precautions: frozenset[Precaution] = frozenset()
    when: datetime | None = None
    panel_id: str = ""

    def __post_init__(self) -> None:
        if self.leg_pain is None and self.back_pain is None:
            raise AssessmentError("leg_pain", "Enter the leg pain or the back pain (0-10).")
        for name in ("leg_pain", "back_pain"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 10:
                raise AssessmentError(name, "Pain must be a whole number from 0 to 10.")
        if len(self.odi_sections) != 10:
            raise AssessmentError("odi", "The Oswestry index has ten sections.")
        for i, score in enumerate(self.odi_sections):
            if score is not None and not 0 <= score <= 5:
                raise AssessmentError(f"odi_{i + 1}", "Each Oswestry section scores 0 to 5.")
        if self.odi_total is not None and not 0 <= self.odi_total <= 100:
            raise AssessmentError("odi_total", "The Oswestry total is a percentage from 0 to 100.")
        if self.odi_total is not None and any(s is not None for s in self.odi_sections):
            raise AssessmentError("odi_total", "Enter the Oswestry sections or the total, not both.")
        for side, findings in (("left", self.left), ("right", self.right)):
            if findings.slr_angle is not None and not 0 <= findings.slr_angle <= 120:
                raise AssessmentError(
                    f"{side}_slr_angle", "The straight-leg raise angle is 0 to 120 degrees."
                )
            for reflex in ("knee_reflex", "ankle_reflex"):
                if getattr(findings, reflex) not in (None, *REFLEXES):
                    raise AssessmentError(f"{side}_{reflex}", "A reflex is normal, reduced or absent.")

    @property
    def odi(self) -> int | None:
        """The Oswestry percentage: from the sections, else the total given."""
        if any(s is not None for s in self.odi_sections):
            return odi_percent(self.odi_sections)
        return self.odi_total

    @property
    def odi_sections_answered(self) -> int:
        return sum(1 for s in self.odi_sections if s is not None)

    def side(self, name: str) -> SideFindings:
        return self.left if name == "left" else self.right

    def worse_slr(self) -> tuple[int | None, bool]:
        """The lower straight-leg raise angle and whether either side reproduced leg pain."""
        angles = [f.slr_angle for f in (self.left, self.right) if f.slr_angle is not None]
        painful = any(f.slr_leg_pain for f in (self.left, self.right))
        return (min(angles) if angles else None), painful


def slr_improvement(baseline: Assessment, latest: Assessment, gain: int) -> tuple[bool, str]:
    """Has the straight-leg raise improved since the baseline: `gain` degrees more on the worse
    side, or leg pain no longer reproduced? Returns the verdict and the figures in words.

    >>> b = Assessment(leg_pain=6, left=SideFindings(slr_angle=40, slr_leg_pain=True))
    >>> slr_improvement(b, Assessment(leg_pain=4, left=SideFindings(slr_angle=55, slr_leg_pain=True)), 10)
    (True, '40 -> 55 degrees')
    """
    (before, pain_before), (after, pain_after) = baseline.worse_slr(), latest.worse_slr()
    if before is None or after is None:
        return False, "no straight-leg raise recorded at both assessments"
    words = f"{before} -> {after} degrees"
    if pain_before and not pain_after:
        return True, words + ", no longer reproduces leg pain"
    return after - before >= gain, words
