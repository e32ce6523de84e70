"""Red-flag screening for sciatica: the questions, and the rule that any positive stops therapy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from fhir_rehab import codes as c
from fhir_rehab.program.errors import IncompleteScreen


class Urgency(StrEnum):
    """How fast a positive answer must be seen."""

    EMERGENCY = "emergency"  # possible cauda equina: same day, emergency department
    URGENT = "urgent"  # urgent medical review before any exercise therapy


@dataclass(frozen=True)
class RedFlag:
    """One screening question: patient-facing wording and advice for the clinician."""

    key: str
    question: str
    advice: str
    urgency: Urgency
    code: c.Code
    warning: str = ""  # for the patient's home sheet: "Get urgent help if ..."


_CAUDA_EQUINA = (
    "Possible cauda equina syndrome: an emergency. Refer the patient to the "
    "emergency department now for same-day assessment and MRI. Do not start or "
    "continue exercise therapy."
)

# From the article ("When to Seek Further Medical Help") plus the standard cauda equina screen.
RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "leg-weakness",
        "Have you noticed new loss of strength in your leg or foot, for example your foot "
        "catching or slapping when you walk?",
        "Progressive motor loss: stop the exercise program and arrange urgent medical "
        "review (same day) with a neurological examination.",
        Urgency.URGENT,
        c.SCT_MUSCLE_WEAKNESS_LIMB,
        warning="you lose strength in your leg or foot",
    ),
    RedFlag(
        "leg-numbness",
        "Have you noticed new loss of sensation (numbness) in your leg or foot?",
        "New or spreading sensory loss: urgent medical review; record its distribution.",
        Urgency.URGENT,
        c.SCT_NUMBNESS_LOWER_LIMB,
        warning="you lose feeling in your leg or foot",
    ),
    RedFlag(
        "bladder-bowel",
        "Have you had any difficulty controlling your bladder or bowel, or passing urine, "
        "since this pain started?",
        _CAUDA_EQUINA,
        Urgency.EMERGENCY,
        c.APP_BLADDER_BOWEL,
        warning="you have difficulty controlling your bladder or bowel, or passing urine",
    ),
    RedFlag(
        "saddle-anaesthesia",
        "Do you have numbness or tingling around your back passage, genitals or inner "
        "thighs (the area that would touch a saddle)?",
        _CAUDA_EQUINA,
        Urgency.EMERGENCY,
        c.APP_SADDLE_ANAESTHESIA,
        warning="you have numbness around your back passage, genitals or inner thighs",
    ),
    RedFlag(
        "bilateral-symptoms",
        "Do you have pain, numbness or weakness in both legs?",
        "Symptoms in both legs can mean central compression: " + _CAUDA_EQUINA,
        Urgency.EMERGENCY,
        c.APP_BILATERAL,
        warning="you have pain, numbness or weakness in both legs",
    ),
    RedFlag(
        "worsening-pain",
        "Is your pain unrelenting and getting worse despite therapy, including at night or at rest?",
        "Consider non-mechanical causes (infection, tumour, fracture): urgent medical "
        "review before any further exercise therapy.",
        Urgency.URGENT,
        c.APP_WORSENING_PAIN,
        warning="your pain is unrelenting and getting worse despite treatment",
    ),
    RedFlag(
        "trauma",
        "Did this pain start after an accident, a fall or another injury?",
        "Exclude a fracture or other injury: medical review and imaging before exercise therapy.",
        Urgency.URGENT,
        c.APP_TRAUMA,
        warning="your pain started after an accident, a fall or another injury",
    ),
)
RED_FLAG_KEYS: tuple[str, ...] = tuple(flag.key for flag in RED_FLAGS)
_BY_KEY = {flag.key: flag for flag in RED_FLAGS}


def red_flag(key: str) -> RedFlag:
    return _BY_KEY[key]


@dataclass(frozen=True)
class ScreenOutcome:
    """Every answer (present True / absent False) and what follows from them."""

    answers: Mapping[str, bool]

    @property
    def positives(self) -> tuple[RedFlag, ...]:
        return tuple(flag for flag in RED_FLAGS if self.answers[flag.key])

    @property
    def positive(self) -> bool:
        return bool(self.positives)

    @property
    def urgency(self) -> Urgency | None:
        """The most urgent level among the positives, or None for a clear screen."""
        levels = {flag.urgency for flag in self.positives}
        if Urgency.EMERGENCY in levels:
            return Urgency.EMERGENCY
        return Urgency.URGENT if levels else None


def screen_red_flags(answers: Mapping[str, bool]) -> ScreenOutcome:
    """Check that all seven questions are answered and return the outcome.

    >>> screen_red_flags({k: False for k in RED_FLAG_KEYS}).positive
    False
    >>> outcome = screen_red_flags({**{k: False for k in RED_FLAG_KEYS}, "bladder-bowel": True})
    >>> outcome.positive, outcome.urgency.value
    (True, 'emergency')
    >>> try:
    ...     screen_red_flags({"trauma": False})
    ... except IncompleteScreen as exc:
    ...     print(str(exc)[:50])
    Unanswered red-flag questions: leg-weakness, leg-n
    """
    unknown = sorted(set(answers) - set(RED_FLAG_KEYS))
    if unknown:
        raise IncompleteScreen(f"Unknown red-flag questions: {', '.join(unknown)}")
    missing = [key for key in RED_FLAG_KEYS if key not in answers]
    if missing:
        raise IncompleteScreen(f"Unanswered red-flag questions: {', '.join(missing)}")
    return ScreenOutcome({key: bool(answers[key]) for key in RED_FLAG_KEYS})
