"""Who may start the program: an active sciatica Condition, and nothing that excludes it
(cauda equina syndrome, spinal malignancy or a history of cancer, spinal infection, vertebral
fracture, inflammatory spondyloarthritis), each matched by code family, not exact code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fhir_rehab import codes as c
from fhir_rehab.program.words import condition_words

ACTIVE_STATUSES = frozenset({"active", "recurrence", "relapse"})
EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})


@dataclass(frozen=True)
class CodingFact:
    system: str
    code: str
    display: str = ""


@dataclass(frozen=True)
class ConditionFact:
    """What eligibility needs from a Condition, already parsed from FHIR."""

    id: str
    codings: tuple[CodingFact, ...]
    clinical_status: str | None
    verification_status: str | None
    text: str = ""
    recorded: str = ""  # ISO date or dateTime, for ordering


@dataclass(frozen=True)
class Match:
    """A coding that is in the sciatica value set, and the rule that matched it."""

    condition_id: str
    coding: CodingFact
    rule: str


@dataclass(frozen=True)
class ConditionReview:
    """One Condition and why it counts or not."""

    condition: ConditionFact
    match: Match | None
    reason: str


@dataclass(frozen=True)
class Eligibility:
    """The verdict: the matching Condition and code, or why none matched."""

    eligible: bool
    reason: str
    match: Match | None = None
    reviews: tuple[ConditionReview, ...] = field(default_factory=tuple)
    contraindicated: bool = False
    exclusions: tuple[Exclusion, ...] = ()


def normalise_icd10(code: str) -> str:
    """ICD-10-CM codes are written with a dot after the category.

    >>> normalise_icd10("m5441"), normalise_icd10("M54.41"), normalise_icd10(" G57.0 ")
    ('M54.41', 'M54.41', 'G57.0')
    """
    code = code.strip().upper()
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    return code


def match_sciatica(coding: CodingFact) -> str | None:
    """The rule by which a coding is in the sciatica value set, or None.

    >>> match_sciatica(CodingFact(c.ICD10CM, "M54.41"))
    'ICD-10-CM M54.4* (Lumbago with sciatica)'
    >>> match_sciatica(CodingFact(c.SNOMED, "23056005"))
    'SNOMED CT 23056005 (Sciatica)'
    >>> match_sciatica(CodingFact(c.ICD10CM, "M54.5")) is None
    True
    """
    if coding.system == c.ICD10CM:
        code = normalise_icd10(coding.code)
        for prefix, label in c.SCIATICA_ICD10CM_PREFIXES.items():
            if code.startswith(prefix):
                return f"ICD-10-CM {prefix}* ({label})"
    elif coding.system == c.SNOMED and coding.code in c.SCIATICA_SNOMED:
        return f"SNOMED CT {coding.code} ({c.SCIATICA_SNOMED[coding.code]})"
    return None


# What each excluding family means and what to do instead (shown on the overview page).
EXCLUSION_ADVICE: dict[str, tuple[str, str]] = {
    "cauda-equina": (
        "Cauda equina syndrome",
        "exercise therapy is contraindicated; the patient needs emergency care (emergency "
        "department, MRI the same day) or follow-up by the spinal team",
    ),
    "spinal-malignancy": (
        "A malignancy of the spine or spinal bone",
        "this program is not appropriate; refer to the patient's oncology or spinal team",
    ),
    "cancer-history": (
        "A history of cancer with back pain",
        "a medical review must rule out spinal metastasis before any exercise therapy",
    ),
    "spinal-infection": (
        "A spinal infection",
        "refer for medical treatment; exercise only once the treating team clears it",
    ),
    "vertebral-fracture": (
        "A vertebral fracture",
        "this program's exercises are not safe; refer to the fracture or spinal team",
    ),
    "spondyloarthritis": (
        "Inflammatory spondyloarthritis",
        "this sciatica program does not fit; refer to rheumatology for a program designed for it",
    ),
}


@dataclass(frozen=True)
class Exclusion:
    """A Condition that rules the program out, by family."""

    condition_id: str
    coding: CodingFact
    family: str
    label: str  # the code's family member in words

    def describe(self) -> str:
        what, instead = EXCLUSION_ADVICE[self.family]
        return f"{what} is recorded ({self.label}, {self.coding.code}): {instead}."


def match_exclusion(coding: CodingFact) -> tuple[str, str] | None:
    """(family, label) when a coding is in an excluding family, else None.

    >>> match_exclusion(CodingFact(c.ICD10CM, "M80.08XA"))
    ('vertebral-fracture', 'Osteoporosis with current pathological fracture')
    >>> match_exclusion(CodingFact(c.SNOMED, "12454008"))[0]
    'cauda-equina'
    >>> match_exclusion(CodingFact(c.ICD10CM, "M54.41")) is None
    True
    """
    if coding.system == c.ICD10CM:
        code = normalise_icd10(coding.code)
        for prefix, found in c.EXCLUSION_ICD10CM_PREFIXES.items():
            if code == prefix or code.startswith(prefix if "." in prefix else f"{prefix}."):
                return found
        return None
    if coding.system == c.SNOMED:
        return c.EXCLUSION_SNOMED.get(coding.code)
    return None


def find_exclusions(conditions: Iterable[ConditionFact]) -> tuple[Exclusion, ...]:
    """Every excluding Condition. Active ones count; a cancer that is no longer active still
    counts as a history of cancer; refuted or entered-in-error ones never count."""
    out = []
    for fact in conditions:
        if fact.verification_status in EXCLUDED_VERIFICATION:
            continue
        active = fact.clinical_status in ACTIVE_STATUSES
        for coding in fact.codings:
            found = match_exclusion(coding)
            if found is None:
                continue
            family, label = found
            if not active and family == "spinal-malignancy":
                family = "cancer-history"
            if active or family == "cancer-history":
                out.append(Exclusion(fact.id, coding, family, label))
                break
    return tuple(out)


def _review(condition: ConditionFact) -> ConditionReview:
    label = condition.text or (condition.codings[0].display if condition.codings else "")
    label = label or "A condition without a name"
    if condition.verification_status in EXCLUDED_VERIFICATION:
        return ConditionReview(condition, None, f"{label}: {condition_words(condition.verification_status)}")
    if condition.clinical_status not in ACTIVE_STATUSES:
        status = condition_words(condition.clinical_status)
        return ConditionReview(condition, None, f"{label}: not active (its status is {status})")
    for coding in condition.codings:
        rule = match_sciatica(coding)
        if rule:
            return ConditionReview(condition, Match(condition.id, coding, rule), f"{label}: matches {rule}")
    return ConditionReview(
        condition, None, f"{label}: its code is not one of the sciatica codes the program accepts"
    )


def assess_eligibility(conditions: Iterable[ConditionFact]) -> Eligibility:
    """Decide whether the patient may start the program, and say why.

    Eligible: an active, recurrent or relapsed Condition coded in the sciatica value set,
    neither refuted nor entered in error. Any excluding Condition (see find_exclusions)
    overrides it, and the reason says why and what to do instead.
    """
    facts: Sequence[ConditionFact] = sorted(conditions, key=lambda f: f.recorded, reverse=True)
    reviews = tuple(_review(fact) for fact in facts)
    exclusions = find_exclusions(facts)
    if exclusions:
        return Eligibility(
            False,
            "Not for this program: " + " ".join(e.describe() for e in exclusions),
            reviews=reviews,
            contraindicated=True,
            exclusions=exclusions,
        )
    matches = [review.match for review in reviews if review.match]
    if matches:
        match = matches[0]
        return Eligibility(
            True,
            f"Eligible: {match.coding.code} matches {match.rule}.",
            match=match,
            reviews=reviews,
        )
    if not facts:
        return Eligibility(False, "The patient has no recorded Conditions.")
    return Eligibility(
        False,
        "No active sciatica Condition: " + "; ".join(review.reason for review in reviews) + ".",
        reviews=reviews,
    )
