"""What the patient is told after a positive self-check, by urgency level. Pure data.

Patient-facing advice, the review Task's priority and its due time come from the same level
(fhir_rehab.program.redflags.ESCALATIONS): an emergency is "go to the emergency department now"
(a stat Task due within 1 hour); same day is "contact your care team today" (asap, 4 hours);
within days is "a doctor should check you within 3 days" (urgent, 72 hours). A level this table
does not know gets the same-day advice (never less).
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_rehab.program.redflags import Level, Urgency


@dataclass(frozen=True)
class Advice:
    level: str  # "emergency" | "same-day"
    title: str
    steps: tuple[str, ...]


EMERGENCY = Advice(
    "emergency",
    "Go to an emergency department now",
    (
        "Your answers can be a sign of pressure on the nerves at the bottom of your spine "
        "(cauda equina syndrome). This needs to be checked today, within hours.",
        "Go to your nearest emergency department now. If you cannot get there, call an "
        "ambulance (999 in the UK, 112 in Europe, 911 in the US).",
        'Say: "I have sciatica and I may have cauda equina syndrome."',
        "Do not do your exercises until a doctor has seen you.",
    ),
)
SAME_DAY = Advice(
    "same-day",
    "Contact your doctor or care team today",
    (
        "Your answers mean a doctor should check you today, before you carry on.",
        "Call your GP practice or your physiotherapy team today. Out of hours, call your "
        "urgent care line (111 in the UK).",
        "Do not do your exercises until you have been checked.",
        "If you lose control of your bladder or bowel, or feel numb between your legs, go to "
        "an emergency department at once.",
    ),
)
WITHIN_DAYS = Advice(
    "within-days",
    "A doctor should check you within the next 3 days",
    (
        "Your answers mean a doctor should check you within the next 3 days, before you carry on.",
        "Your care team has been told and will arrange it. If you have not heard from them by "
        "tomorrow, call your GP practice or your physiotherapy team.",
        "Do not do your exercises until you have been checked.",
        "If you lose control of your bladder or bowel, or feel numb between your legs, go to "
        "an emergency department at once.",
    ),
)
NEXT_STEPS = "Your care team has been told and will contact you. You cannot cancel this report."


def patient_advice(urgency: Urgency | str | None) -> Advice | None:
    """The advice for a screen's level; None for a clear screen.

    >>> patient_advice(Urgency.EMERGENCY).level, patient_advice(Level.SAME_DAY).level
    ('emergency', 'same-day')
    >>> patient_advice(Level.WITHIN_DAYS).level
    'within-days'
    >>> patient_advice("some-new-level").level, patient_advice(None)
    ('same-day', None)
    """
    if urgency is None:
        return None
    if str(urgency) == Urgency.EMERGENCY.value:
        return EMERGENCY
    return WITHIN_DAYS if str(urgency) == Level.WITHIN_DAYS.value else SAME_DAY
