"""A dose on the wire: Timing for the schedule, an app extension for sets, reps and hold, and back.

The schedule is structured so a reader that knows nothing of the app sees the real one:
`repeat.frequency` times per `period` 1 day, on `dayOfWeek` when it is not every day, for
`duration` minutes when the dose is timed; `code.text` is the same dose in words. Sets,
repetitions, hold time and side have no R4 element: they go in an extension
(`codes.EXERCISE_DOSE_EXTENSION`) and into the words the patient reads.
"""

from __future__ import annotations

from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.program.model import DEFAULT_DAYS, Dosage
from fhir_rehab.resources.wire import Resource

_INT_FIELDS = (("sets", "sets"), ("reps", "repetitions"), ("hold_seconds", "holdSeconds"))


def build_timing(dosage: Dosage) -> Resource:
    """The dose's schedule as an R4 Timing whose words (`code.text`) say the same."""
    repeat: Resource = {"frequency": dosage.times_per_day, "period": 1, "periodUnit": "d"}
    if dosage.days_per_week < 7:
        repeat["dayOfWeek"] = list(dosage.days)
    if dosage.minutes:
        repeat["duration"] = dosage.minutes
        repeat["durationUnit"] = "min"
    return {"repeat": repeat, "code": {"text": dosage.describe()}}


def build_dose_extension(dosage: Dosage, side: str | None = None) -> Resource:
    """Sets, repetitions, hold time (and the side) as one complex extension."""
    parts: list[Resource] = [
        {"url": wire, "valueInteger": getattr(dosage, name)}
        for name, wire in _INT_FIELDS
        if getattr(dosage, name)
    ]
    parts.append({"url": "eachSide", "valueBoolean": dosage.each_side})
    if side:
        parts.append({"url": "side", "valueCode": side})
    return {"url": c.EXERCISE_DOSE_EXTENSION, "extension": parts}


def parse_dose(timing: Resource | None, extensions: list[Resource] | None) -> tuple[Dosage, str | None]:
    """Rebuild the Dosage (and side) from a Timing and the dose extension.

    Raises ValueError when the schedule is not one the app writes (then the caller keeps the
    words only).
    """
    repeat = (timing or {}).get("repeat") or {}
    if repeat.get("periodUnit", "d") != "d" or repeat.get("period", 1) != 1:
        raise ValueError("schedule is not per day")
    days = tuple(repeat.get("dayOfWeek") or ())
    days_per_week = len(days) if days else 7
    if days and DEFAULT_DAYS.get(days_per_week) != days:
        days_per_week = len(set(days))
    values: dict[str, Any] = {}
    side = None
    for ext in extensions or []:
        if ext.get("url") != c.EXERCISE_DOSE_EXTENSION:
            continue
        for part in ext.get("extension") or []:
            for name, wire in _INT_FIELDS:
                if part.get("url") == wire:
                    values[name] = int(part["valueInteger"])
            if part.get("url") == "eachSide":
                values["each_side"] = bool(part.get("valueBoolean"))
            if part.get("url") == "side":
                side = str(part.get("valueCode"))
    minutes = repeat.get("duration")
    dosage = Dosage(
        minutes=int(minutes) if minutes else None,
        times_per_day=int(repeat.get("frequency", 1)),
        days_per_week=days_per_week,
        **values,
    )
    return dosage, side
