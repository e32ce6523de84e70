"""Parse the clinician's assessment and plan forms: every field checked, errors per field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_rehab.errors import FhirRehabError
from fhir_rehab.fhir.ids import check_free_text
from fhir_rehab.program.assessment import (
    ODI_SECTION_NAMES,
    Assessment,
    AssessmentError,
    SideFindings,
    StartBack,
)
from fhir_rehab.program.model import Direction, Dosage, Precaution, Program
from fhir_rehab.program.tailoring import MAX_NOTE, MAX_PER_STAGE, SIDES, Prescribed, Profile, conflicts

DOSE_FIELDS = ("sets", "reps", "hold_seconds", "minutes", "times_per_day", "days_per_week")
_INT_LIMIT = 1000


class FormError(FhirRehabError, ValueError):
    """A form field the user must correct; `field` is the input's id, for the error summary."""

    def __init__(self, field_id: str, message: str) -> None:
        super().__init__(message)
        self.field = field_id


def _int(form: Mapping[str, Any], name: str, label: str) -> int | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > _INT_LIMIT:
        raise FormError(name, f"{label}: enter a whole number.")
    return int(raw)


def _yes_no(form: Mapping[str, Any], name: str) -> bool | None:
    return {"yes": True, "no": False}.get(str(form.get(name, "")))


def parse_assessment(form: Mapping[str, Any]) -> tuple[Assessment | None, list[tuple[str, str]]]:
    """The assessment, or the errors as (field id, message) for the summary."""
    errors: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    ints = {"leg_pain": "Leg pain", "back_pain": "Back pain", "odi_total": "Oswestry total"}
    ints.update(
        {f"odi_{i + 1}": f"Oswestry section {name.lower()}" for i, name in enumerate(ODI_SECTION_NAMES)}
    )
    for side in ("left", "right"):
        ints[f"{side}_slr_angle"] = f"Straight-leg raise angle, {side} leg"
    parsed: dict[str, int | None] = {}
    for name, label in ints.items():
        try:
            parsed[name] = _int(form, name, label)
        except FormError as exc:
            errors.append((exc.field, str(exc)))
    if errors:
        return None, errors
    values["leg_pain"], values["back_pain"], values["odi_total"] = (
        parsed["leg_pain"],
        parsed["back_pain"],
        parsed["odi_total"],
    )
    values["odi_sections"] = tuple(parsed[f"odi_{i + 1}"] for i in range(10))
    for side in ("left", "right"):
        values[side] = SideFindings(
            slr_angle=parsed[f"{side}_slr_angle"],
            slr_leg_pain=_yes_no(form, f"{side}_slr_leg_pain"),
            weak_l4=_yes_no(form, f"{side}_weak_l4"),
            weak_l5=_yes_no(form, f"{side}_weak_l5"),
            weak_s1=_yes_no(form, f"{side}_weak_s1"),
            sensory_change=_yes_no(form, f"{side}_sensory_change"),
            knee_reflex=str(form.get(f"{side}_knee_reflex") or "") or None,
            ankle_reflex=str(form.get(f"{side}_ankle_reflex") or "") or None,
        )
    preference = str(form.get("preference", ""))
    values["preference"] = Direction(preference) if preference in {d.value for d in Direction} else None
    startback = str(form.get("startback", ""))
    values["startback"] = StartBack(startback) if startback in {s.value for s in StartBack} else None
    chosen = set(form.getlist("precaution")) if hasattr(form, "getlist") else set()
    values["precautions"] = frozenset(p for p in Precaution if p.value in chosen)
    try:
        return Assessment(**values), []
    except AssessmentError as exc:
        return None, [(exc.field, str(exc))]


@dataclass
class Row:
    """One exercise row of the plan form, as shown."""

    item: Prescribed
    index: int
    warnings: tuple[str, ...] = ()
    error: str = ""

    @property
    def dose(self) -> dict[str, int | None]:
        return {name: getattr(self.item.dosage, name) for name in DOSE_FIELDS}

    @property
    def shown(self) -> str:
        return ",".join("" if v is None else str(v) for v in self.dose.values())


@dataclass
class StagePlan:
    number: int
    rows: list[Row] = field(default_factory=list)
    seen_version: str | None = None
    notices: list[str] = field(default_factory=list)
    editable: bool = True

    @property
    def items(self) -> list[Prescribed]:
        return [r.item for r in self.rows]


def rows_for(number: int, items: list[Prescribed], profile: Profile) -> StagePlan:
    plan = StagePlan(number)
    for i, item in enumerate(items):
        plan.rows.append(Row(item, i, conflicts(item.exercise, profile)))
    return plan


def _dose(form: Mapping[str, Any], prefix: str) -> dict[str, int | None]:
    labels = {
        "sets": "Sets",
        "reps": "Repetitions",
        "hold_seconds": "Hold (seconds)",
        "minutes": "Minutes",
        "times_per_day": "Times a day",
        "days_per_week": "Days a week",
    }
    return {name: _int(form, f"{prefix}-{name}", labels[name]) for name in DOSE_FIELDS}


def parse_stage(
    form: Mapping[str, Any], program: Program, number: int, profile: Profile
) -> tuple[StagePlan, list[tuple[str, str]]]:
    """One stage's rows: swaps, doses, sides, notes, removals, an added exercise, confirmations."""
    offered = {e.key: e for e in program.exercises_for(number)}
    plan = StagePlan(number, seen_version=str(form.get(f"s{number}-version") or "") or None)
    errors: list[tuple[str, str]] = []
    count = min(_int(form, f"s{number}-count", "Rows") or 0, MAX_PER_STAGE + 1)
    for i in range(count):
        prefix = f"s{number}-{i}"
        if form.get(f"{prefix}-remove"):
            continue
        key = str(form.get(f"{prefix}-exercise", ""))
        exercise = offered.get(key)
        if exercise is None:
            errors.append(
                (f"{prefix}-exercise", f"Stage {number}, row {i + 1}: choose an exercise from the list.")
            )
            continue
        was = str(form.get(f"{prefix}-was", ""))
        try:
            dose = _dose(form, prefix)
        except FormError as exc:
            errors.append((exc.field, f"Stage {number}, {exercise.name}: {exc}"))
            continue
        posted = ",".join("" if v is None else str(v) for v in dose.values())
        if was and was != key and posted == str(form.get(f"{prefix}-shown", "")):
            # Swapped and the dose left as it was: the new exercise's own default dose.
            dosage = exercise.dosage
            plan.notices.append(
                f"{offered.get(was, exercise).name} swapped for {exercise.name}: its usual dose is set."
            )
        else:
            try:
                dosage = Dosage(
                    **{k: v for k, v in dose.items() if v is not None}, each_side=exercise.dosage.each_side
                )
            except ValueError as exc:
                errors.append((f"{prefix}-reps", f"Stage {number}, {exercise.name}: {exc}."))
                continue
        side = str(form.get(f"{prefix}-side", "both"))
        if side not in SIDES:
            errors.append((f"{prefix}-side", f"Stage {number}, {exercise.name}: choose both, left or right."))
            continue
        try:
            note = check_free_text(str(form.get(f"{prefix}-note", "")), max_chars=MAX_NOTE, what="The note")
        except ValueError as exc:
            errors.append((f"{prefix}-note", f"Stage {number}, {exercise.name}: {exc}"))
            continue
        warnings = conflicts(exercise, profile)
        confirmed = warnings if form.get(f"{prefix}-confirm") else ()
        request_id = str(form.get(f"{prefix}-id") or "") or None
        version = str(form.get(f"{prefix}-version") or "") or None
        item = Prescribed(exercise, dosage, side, note, confirmed, request_id=request_id, version=version)
        plan.rows.append(Row(item, len(plan.rows), warnings))
    added = str(form.get(f"s{number}-add", ""))
    if added:
        if added not in offered:
            errors.append((f"s{number}-add", f"Stage {number}: choose an exercise to add from the list."))
        elif len(plan.rows) >= MAX_PER_STAGE:
            errors.append((f"s{number}-add", f"Stage {number}: at most {MAX_PER_STAGE} exercises."))
        else:
            exercise = offered[added]
            plan.rows.append(
                Row(Prescribed(exercise, exercise.dosage), len(plan.rows), conflicts(exercise, profile))
            )
    if not plan.rows and not errors:
        errors.append((f"s{number}-add", f"Stage {number} needs at least one exercise."))
    return plan, errors
