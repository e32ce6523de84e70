"""The patient's exercise sessions as an iCalendar file (RFC 5545, built with `icalendar`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median_low

from icalendar import Calendar, Event

from fhir_rehab.program.model import Exercise, Stage

# Session times in the patient's own time zone (floating times: the phone's calendar shows them
# at 08:00 wherever the patient is), and which weekdays a stage's days a week fall on.
SLOTS = ("08:00", "13:00", "18:00", "20:30")
WEEKDAYS = {
    7: None,
    6: "MO,TU,WE,TH,FR,SA",
    5: "MO,TU,WE,TH,FR",
    4: "MO,TU,TH,FR",
    3: "MO,WE,FR",
    2: "TU,FR",
    1: "WE",
}


def sessions_calendar(stage: Stage, exercises: Sequence[Exercise], today: datetime) -> bytes:
    """A repeating event per daily session slot, for the stage's typical length.

    >>> from fhir_rehab.program.sciatica import STAGE_1
    >>> ics = sessions_calendar(STAGE_1, STAGE_1.exercises, datetime(2026, 1, 5)).decode()
    >>> ics.count("BEGIN:VEVENT"), "RRULE:FREQ=DAILY;UNTIL=20260119" in ics
    (2, True)
    """
    times = int(median_low([e.dosage.times_per_day for e in exercises])) if exercises else 1
    days = int(median_low([e.dosage.days_per_week for e in exercises])) if exercises else 7
    until = today + timedelta(weeks=stage.typical_weeks)
    cal = Calendar()
    cal.add("prodid", "-//fhir-rehab//home exercises//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "My exercises")
    description = "\n".join(f"{e.name}: {e.dosage.describe()}" for e in exercises)
    for slot in SLOTS[: max(1, min(times, len(SLOTS)))]:
        hour, minute = (int(p) for p in slot.split(":"))
        event = Event()
        event.add("uid", f"{stage.key}-{slot.replace(':', '')}@fhir-rehab")
        event.add("dtstamp", today)
        event.add("dtstart", today.replace(hour=hour, minute=minute, tzinfo=None))
        event.add("duration", timedelta(minutes=20))
        event.add("summary", f"Exercises: stage {stage.number}, {stage.title}")
        event.add("description", description)
        rule: dict[str, object] = {"freq": "daily", "until": until.date()}
        byday = WEEKDAYS.get(days)
        if byday:
            rule = {"freq": "weekly", "byday": byday.split(","), "until": until.date()}
        event.add("rrule", rule)
        cal.add_component(event)
    return cal.to_ical()
