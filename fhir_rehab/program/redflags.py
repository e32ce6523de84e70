"""Red-flag screening for sciatica: the questions, the escalation levels, and fail-closed reading.

Pure domain (no I/O). The public API other parts build on (clinician screen, patient self-check,
CDS Hooks cards):

- `CURRENT_SCREEN` / `SCREEN_VERSIONS`: versioned question sets; `RED_FLAGS` is the current one.
- `escalation_for(keys)`: for a set of positive answer keys, the one `Escalation` that applies
  (level, patient advice, clinician advice, FHIR Task priority, due delta), or None.
- `screen_red_flags(answers)`: check a complete set of answers, return a `ScreenOutcome`.
- `ScreenSummary`: a screen as read back; `clear` is True only for a complete, readable,
  negative screen. Anything in doubt reads as positive or incomplete, never as clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from fhir_rehab import codes as c
from fhir_rehab.program.errors import IncompleteScreen


class Level(StrEnum):
    """How fast a positive answer must be seen, most urgent first."""

    EMERGENCY = "emergency"  # cauda equina signs: emergency department now
    SAME_DAY = "same-day"  # new neurological deficit, worsening pain, trauma
    WITHIN_DAYS = "within-days"  # serious-pathology indicators


# Kept for callers written before the three levels: the old name of the enum.
Urgency = Level

# FHIR R4 request-priority, least to most urgent (valueset-request-priority).
PRIORITY_ORDER: tuple[str, ...] = ("routine", "urgent", "asap", "stat")


@dataclass(frozen=True)
class Escalation:
    """What a level means: what the patient is told, what the clinician does, and how the review
    Task is prioritised and when it is due. The four always agree (one row, one place)."""

    level: Level
    name: str  # e.g. "Emergency", shown as the result's heading
    patient_advice: str  # second person, plain words
    clinician_advice: str
    priority: str  # FHIR request-priority of the review Task
    due: timedelta  # the review Task is due this long after the screen
    review_name: str  # the review in words: "emergency medical review"

    @property
    def due_words(self) -> str:
        """
        >>> ESCALATIONS[Level.EMERGENCY].due_words, ESCALATIONS[Level.WITHIN_DAYS].due_words
        ('within 1 hour', 'within 72 hours')
        """
        hours = int(self.due.total_seconds() // 3600)
        return f"within {hours} hour{'s' if hours != 1 else ''}"


ESCALATIONS: Mapping[Level, Escalation] = {
    Level.EMERGENCY: Escalation(
        Level.EMERGENCY,
        "Emergency",
        "Go to the emergency department now. Do not wait for an appointment and do not do "
        "your exercises. Tell them you have back pain with these symptoms, which can mean "
        "pressure on the nerves at the base of the spine (cauda equina syndrome).",
        "Possible cauda equina syndrome: send the patient to the emergency department now for "
        "assessment and MRI the same day (GIRFT national suspected CES pathway). Do not start "
        "or continue exercise therapy.",
        "stat",
        timedelta(hours=1),
        "emergency medical review",
    ),
    Level.SAME_DAY: Escalation(
        Level.SAME_DAY,
        "Same day",
        "Stop your exercises and see a doctor today. Call your clinic or doctor now; if you "
        "cannot be seen today, go to an urgent care centre.",
        "Medical review today with a neurological examination; after trauma, exclude a "
        "fracture. No exercise therapy until the review clears the patient.",
        "asap",
        timedelta(hours=4),
        "same-day medical review",
    ),
    Level.WITHIN_DAYS: Escalation(
        Level.WITHIN_DAYS,
        "Within days",
        "Stop your exercises until a doctor has checked you. Your care team will arrange a "
        "medical review within the next 3 days. If you feel worse before then, call your "
        "clinic.",
        "Possible serious pathology (cancer, infection, fracture or inflammatory disease): "
        "medical review within 72 hours, with blood tests or imaging as the reviewer decides. "
        "No exercise therapy until the review clears the patient.",
        "urgent",
        timedelta(hours=72),
        "medical review within 3 days",
    ),
}
LEVEL_ORDER: tuple[Level, ...] = (Level.EMERGENCY, Level.SAME_DAY, Level.WITHIN_DAYS)


@dataclass(frozen=True)
class RedFlag:
    """One screening question, asked in the patient's words."""

    key: str
    question: str  # patient wording, second person, ends with "?"
    label: str  # the finding in a clinician's words, short
    advice: str  # what this finding asks of the clinician, beyond its level's advice
    level: Level
    code: c.Code  # the finding's code (what version 1 wrote as Observation.code)
    warning: str = ""  # for the home sheet: "Get urgent help if ..."; empty if not a new event
    group: str = ""  # heading the question sits under on the form

    @property
    def urgency(self) -> Level:
        return self.level

    @property
    def escalation(self) -> Escalation:
        return ESCALATIONS[self.level]

    @property
    def question_code(self) -> c.Code:
        """Observation.code of a version 2 answer: the question, never the finding."""
        return c.RED_FLAG_QUESTIONS[self.key]


_CES = "Signs of cauda equina syndrome"
_NERVE = "Nerve, pain and injury"
_SERIOUS = "Other serious causes"
_CES_ADVICE = "Possible cauda equina syndrome."

_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "bladder-bowel",
        "Have you had any difficulty controlling your bladder or bowel, or passing urine, "
        "since this pain started?",
        "Bladder or bowel dysfunction",
        _CES_ADVICE,
        Level.EMERGENCY,
        c.APP_BLADDER_BOWEL,
        "you have difficulty controlling your bladder or bowel, or passing urine",
        _CES,
    ),
    RedFlag(
        "saddle-anaesthesia",
        "Do you have numbness or tingling around your back passage, genitals or inner "
        "thighs (the area that would touch a saddle)?",
        "Saddle anaesthesia",
        _CES_ADVICE,
        Level.EMERGENCY,
        c.APP_SADDLE_ANAESTHESIA,
        "you have numbness around your back passage, genitals or inner thighs",
        _CES,
    ),
    RedFlag(
        "bilateral-symptoms",
        "Do you have pain, numbness or weakness in both legs?",
        "Symptoms in both legs",
        "Symptoms in both legs can mean central compression. " + _CES_ADVICE,
        Level.EMERGENCY,
        c.APP_BILATERAL,
        "you have pain, numbness or weakness in both legs",
        _CES,
    ),
    RedFlag(
        "sexual-dysfunction",
        "Since this pain started, have you noticed any change in your sexual function, such as "
        "numbness of your genitals or problems getting an erection or ejaculating?",
        "New sexual dysfunction",
        _CES_ADVICE,
        Level.EMERGENCY,
        c.RED_FLAG_QUESTIONS["sexual-dysfunction"],
        "you notice a change in sexual function, such as numbness of your genitals",
        _CES,
    ),
    RedFlag(
        "toilet-sensation",
        "Does it feel different when you pass urine, or when you wipe yourself after using "
        "the toilet (for example numb or less feeling)?",
        "Altered sensation when passing urine or wiping",
        _CES_ADVICE,
        Level.EMERGENCY,
        c.RED_FLAG_QUESTIONS["toilet-sensation"],
        "it feels different or numb when you pass urine or wipe after the toilet",
        _CES,
    ),
    RedFlag(
        "rectal-fullness",
        "Have you lost the feeling that your bowel is full, so you cannot tell when you need "
        "to open your bowels?",
        "Loss of rectal-fullness sensation",
        _CES_ADVICE,
        Level.EMERGENCY,
        c.RED_FLAG_QUESTIONS["rectal-fullness"],
        "you cannot feel when your bowel is full",
        _CES,
    ),
    RedFlag(
        "leg-weakness",
        "Have you noticed new loss of strength in your leg or foot, for example your foot "
        "catching or slapping when you walk?",
        "New or progressive leg weakness",
        "Progressive motor loss: examine power, reflexes and sensation.",
        Level.SAME_DAY,
        c.SCT_MUSCLE_WEAKNESS_LIMB,
        "you lose strength in your leg or foot",
        _NERVE,
    ),
    RedFlag(
        "leg-numbness",
        "Have you noticed new loss of sensation (numbness) in your leg or foot?",
        "New or spreading numbness in the leg",
        "New or spreading sensory loss: record its distribution.",
        Level.SAME_DAY,
        c.SCT_NUMBNESS_LOWER_LIMB,
        "you lose feeling in your leg or foot",
        _NERVE,
    ),
    RedFlag(
        "worsening-pain",
        "Is your pain unrelenting and getting worse despite therapy, including at night or at rest?",
        "Unrelenting pain worsening despite therapy",
        "Consider non-mechanical causes (infection, tumour, fracture).",
        Level.SAME_DAY,
        c.APP_WORSENING_PAIN,
        "your pain is unrelenting and getting worse despite treatment",
        _NERVE,
    ),
    RedFlag(
        "trauma",
        "Did this pain start after you had an accident, a fall or another injury?",
        "Pain after trauma or a fall",
        "Exclude a fracture or other injury: imaging as the reviewer decides.",
        Level.SAME_DAY,
        c.APP_TRAUMA,
        "your pain started after an accident, a fall or another injury",
        _NERVE,
    ),
    RedFlag(
        "cancer-history",
        "Have you ever had cancer?",
        "History of cancer",
        "Consider spinal metastasis.",
        Level.WITHIN_DAYS,
        c.RED_FLAG_QUESTIONS["cancer-history"],
        group=_SERIOUS,
    ),
    RedFlag(
        "weight-loss",
        "Have you lost weight recently without trying?",
        "Unexplained weight loss",
        "Consider malignancy or infection.",
        Level.WITHIN_DAYS,
        c.RED_FLAG_QUESTIONS["weight-loss"],
        "you lose weight without trying",
        _SERIOUS,
    ),
    RedFlag(
        "infection-risk",
        "Have you had a fever or felt hot and shivery, or do you have a weakened immune "
        "system (for example from chemotherapy, HIV or transplant medicines), or have you "
        "ever injected drugs?",
        "Fever, immunosuppression or intravenous drug use",
        "Consider spinal infection (discitis, osteomyelitis, epidural abscess).",
        Level.WITHIN_DAYS,
        c.RED_FLAG_QUESTIONS["infection-risk"],
        "you have a fever or feel hot and shivery with your back pain",
        _SERIOUS,
    ),
    RedFlag(
        "long-term-steroids",
        "Have you taken steroid tablets (such as prednisolone) for more than three months?",
        "Long-term oral steroids",
        "Consider osteoporotic vertebral fracture.",
        Level.WITHIN_DAYS,
        c.RED_FLAG_QUESTIONS["long-term-steroids"],
        group=_SERIOUS,
    ),
    RedFlag(
        "age-at-onset",
        "Did your back pain first start before you were 20, or after you were 50?",
        "First onset under 20 or over 50",
        "Age at first onset outside 20-50 raises the chance of serious pathology.",
        Level.WITHIN_DAYS,
        c.RED_FLAG_QUESTIONS["age-at-onset"],
        group=_SERIOUS,
    ),
    RedFlag(
        "night-pain",
        "Is your pain there all night, whatever position you lie in?",
        "Constant night pain",
        "Constant, non-mechanical night pain: consider tumour or infection.",
        Level.WITHIN_DAYS,
        c.RED_FLAG_QUESTIONS["night-pain"],
        "your pain is there all night, whatever position you lie in",
        _SERIOUS,
    ),
)
_BY_KEY = {flag.key: flag for flag in _FLAGS}


@dataclass(frozen=True)
class ScreenVersion:
    """One published version of the screen: the questions it asks, in order."""

    version: str
    questions: tuple[RedFlag, ...]
    marker: c.Code | None  # Observation.method of its panel; version 1 panels carry none

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions)

    @property
    def groups(self) -> tuple[tuple[str, tuple[RedFlag, ...]], ...]:
        """The questions under their headings, in order."""
        out: dict[str, list[RedFlag]] = {}
        for q in self.questions:
            out.setdefault(q.group, []).append(q)
        return tuple((name, tuple(qs)) for name, qs in out.items())


# Version 1 (seven questions, from the article plus the classic cauda equina screen): its
# Observations carry the finding code with value Present/Absent. Still read, never written.
SCREEN_V1 = ScreenVersion(
    "1.0.0",
    tuple(
        _BY_KEY[k]
        for k in (
            "leg-weakness",
            "leg-numbness",
            "bladder-bowel",
            "saddle-anaesthesia",
            "bilateral-symptoms",
            "worsening-pain",
            "trauma",
        )
    ),
    None,
)
# Version 2: the national cauda equina pathway's signs and the serious-pathology questions.
SCREEN_V2 = ScreenVersion("2.0.0", _FLAGS, c.APP_SCREEN_V2)
SCREEN_VERSIONS: tuple[ScreenVersion, ...] = (SCREEN_V1, SCREEN_V2)
CURRENT_SCREEN = SCREEN_V2

RED_FLAGS: tuple[RedFlag, ...] = CURRENT_SCREEN.questions
RED_FLAG_KEYS: tuple[str, ...] = CURRENT_SCREEN.keys


def red_flag(key: str) -> RedFlag:
    return _BY_KEY[key]


def screen_version(version: str) -> ScreenVersion | None:
    for found in SCREEN_VERSIONS:
        if found.version == version:
            return found
    return None


def escalation_for(keys: Iterable[str]) -> Escalation | None:
    """The escalation for a set of positive answer keys: the most urgent level among them.

    An unknown key counts as the most urgent level (fail closed); no keys means no escalation.

    >>> escalation_for(["trauma", "cancer-history"]).priority
    'asap'
    >>> e = escalation_for(["rectal-fullness"])
    >>> e.level.value, e.priority, e.due_words
    ('emergency', 'stat', 'within 1 hour')
    >>> escalation_for(["not-a-question"]).level.value, escalation_for([]) is None
    ('emergency', True)
    """
    levels = {_BY_KEY[k].level if k in _BY_KEY else Level.EMERGENCY for k in keys}
    for level in LEVEL_ORDER:
        if level in levels:
            return ESCALATIONS[level]
    return None


def level_for_priority(priority: str | None) -> Level | None:
    """The level a review Task's priority stands for (None for routine or unknown).

    >>> level_for_priority("asap").value, level_for_priority("routine")
    ('same-day', None)
    """
    for escalation in ESCALATIONS.values():
        if escalation.priority == priority:
            return escalation.level
    return None


@dataclass(frozen=True)
class ScreenOutcome:
    """Every answer (present True / absent False) and what follows from them."""

    answers: Mapping[str, bool]
    version: ScreenVersion = CURRENT_SCREEN

    @property
    def positives(self) -> tuple[RedFlag, ...]:
        return tuple(flag for flag in self.version.questions if self.answers[flag.key])

    @property
    def positive(self) -> bool:
        return bool(self.positives)

    @property
    def escalation(self) -> Escalation | None:
        return escalation_for(f.key for f in self.positives)

    @property
    def level(self) -> Level | None:
        """The most urgent level among the positives, or None for a clear screen."""
        return self.escalation.level if self.escalation else None

    urgency = level


def screen_red_flags(answers: Mapping[str, bool], version: ScreenVersion = CURRENT_SCREEN) -> ScreenOutcome:
    """Check that every question of `version` is answered and return the outcome.

    >>> clear = {k: False for k in RED_FLAG_KEYS}
    >>> screen_red_flags(clear).positive
    False
    >>> outcome = screen_red_flags({**clear, "bladder-bowel": True})
    >>> outcome.positive, outcome.level.value
    (True, 'emergency')
    >>> try:
    ...     screen_red_flags({"trauma": False})
    ... except IncompleteScreen as exc:
    ...     print(str(exc)[:50])
    Unanswered red-flag questions: bladder-bowel, sadd
    """
    unknown = sorted(set(answers) - set(version.keys))
    if unknown:
        raise IncompleteScreen(f"Unknown red-flag questions: {', '.join(unknown)}")
    missing = [key for key in version.keys if key not in answers]
    if missing:
        raise IncompleteScreen(f"Unanswered red-flag questions: {', '.join(missing)}")
    return ScreenOutcome({key: bool(answers[key]) for key in version.keys}, version)


class ScreenStatus(StrEnum):
    """A screen as read back: only a complete, readable, negative screen is clear."""

    CLEAR = "clear"
    POSITIVE = "positive"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class ScreenSummary:
    """A recorded screen as read back from the server, judged fail-closed.

    `version` is None when the panel names a version the app does not know. `marked_positive`
    is the panel's own interpretation (None when missing or unreadable). `unreadable` says, in
    words, what could not be read.
    """

    panel_id: str
    when: datetime | None
    answers: dict[str, bool]
    version: ScreenVersion | None = SCREEN_V1
    marked_positive: bool | None = False
    unreadable: tuple[str, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> tuple[RedFlag, ...]:
        """Questions the version asked that have no readable answer."""
        if self.version is None:
            return ()
        return tuple(q for q in self.version.questions if q.key not in self.answers)

    @property
    def positive_keys(self) -> tuple[str, ...]:
        return tuple(key for key, present in self.answers.items() if present)

    @property
    def positives(self) -> tuple[RedFlag, ...]:
        return tuple(_BY_KEY[k] for k in self.positive_keys if k in _BY_KEY)

    @property
    def positive(self) -> bool:
        """A present answer, or a panel marked positive (even with no answers readable)."""
        return bool(self.positive_keys) or self.marked_positive is True

    @property
    def incomplete(self) -> bool:
        return (
            self.version is None
            or self.marked_positive is None
            or bool(self.missing)
            or bool(self.unreadable)
        )

    @property
    def status(self) -> ScreenStatus:
        if self.positive:
            return ScreenStatus.POSITIVE
        if self.incomplete:
            return ScreenStatus.INCOMPLETE
        return ScreenStatus.CLEAR

    @property
    def clear(self) -> bool:
        return self.status is ScreenStatus.CLEAR

    @property
    def escalation(self) -> Escalation | None:
        """The level its positives ask for; a positive whose answers cannot be read is treated
        as the most urgent level (fail closed)."""
        if not self.positive:
            return None
        return escalation_for(self.positive_keys) or ESCALATIONS[Level.EMERGENCY]

    def problems(self) -> tuple[str, ...]:
        """Why an incomplete screen cannot be trusted, in words."""
        out = list(self.unreadable)
        if self.version is None:
            out.append("it was recorded with a version of the screen this app does not know")
        if self.marked_positive is None:
            out.append("its overall result is missing")
        if self.missing:
            asked = len(self.version.questions) if self.version else 0
            out.append(f"{len(self.missing)} of {asked} answers are missing")
        return tuple(out)
