"""The Oswestry Disability Index by section, for the patient's weekly self-report. Pure.

Ten sections (Fairbank and Pynsent, Spine 2000), each scored 0 (no difficulty) to 5 (the most);
the index is the sum over the sections answered divided by 5 x that number, as a percentage: a
skipped section (often "sex life") leaves the others to count. The patient page shows each
section's topic with a plain 0-5 scale; the licensed statement wording is not reproduced here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fhir_rehab.program.errors import IncompleteOswestry


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    prompt: str


SECTIONS: tuple[Section, ...] = (
    Section("pain", "Pain intensity", "How bad is your pain right now?"),
    Section("personal-care", "Personal care", "Washing and dressing yourself"),
    Section("lifting", "Lifting", "Lifting things"),
    Section("walking", "Walking", "Walking distances"),
    Section("sitting", "Sitting", "Sitting in a chair"),
    Section("standing", "Standing", "Standing"),
    Section("sleeping", "Sleeping", "Sleeping"),
    Section("sex-life", "Sex life (if it applies)", "Sex life"),
    Section("social-life", "Social life", "Seeing people and doing things you enjoy"),
    Section("travelling", "Travelling", "Travelling by car, bus or train"),
)
SECTION_KEYS = tuple(s.key for s in SECTIONS)
MIN_ANSWERED = 8  # with more sections skipped the index is not reliable


def oswestry_index(answers: Mapping[str, int]) -> int:
    """The index (0-100 %) from section scores 0-5; at least 8 of the 10 sections answered.

    >>> oswestry_index({k: 2 for k in SECTION_KEYS})
    40
    >>> oswestry_index({k: 5 for k in SECTION_KEYS if k != "sex-life"})
    100
    >>> oswestry_index({"pain": 9})
    Traceback (most recent call last):
    ...
    fhir_rehab.program.errors.IncompleteOswestry: Each answer is a number from 0 to 5.
    """
    if any(k not in SECTION_KEYS for k in answers):
        raise IncompleteOswestry("Unknown section.")
    if any(not isinstance(v, int) or not 0 <= v <= 5 for v in answers.values()):
        raise IncompleteOswestry("Each answer is a number from 0 to 5.")
    if len(answers) < MIN_ANSWERED:
        raise IncompleteOswestry(f"Answer at least {MIN_ANSWERED} of the {len(SECTIONS)} sections.")
    return round(100 * sum(answers.values()) / (5 * len(answers)))
