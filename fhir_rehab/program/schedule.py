"""When the stages still to come are planned. Pure.

A program is planned stage after stage from its start (`Program.window`). Stages rarely end on the
planned day: when one ends, early or late, the stages not started yet move so the next one begins
when it is handed over, each keeping its planned length (its Task's planned period, else the
stage's typical weeks). The completed stages keep their planned periods: they are history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fhir_rehab.program.progression import StageState

NOT_STARTED = frozenset({"draft", "requested", "received", "accepted", "ready"})


@dataclass(frozen=True)
class Window:
    """A stage's planned period."""

    start: datetime
    end: datetime


def _instant(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else None


def planned_length(stage: StageState) -> timedelta:
    """The stage's planned length: its planned period when readable, else its typical weeks."""
    start, end = _instant(stage.planned_start), _instant(stage.planned_end)
    if start and end and end > start:
        return end - start
    return timedelta(weeks=stage.stage.typical_weeks)


def replan_after(stages: Iterable[StageState], ended: int, when: datetime) -> dict[str, Window]:
    """New planned periods, by Task id, for the stages after stage `ended` that have not started,
    chained from `when` (the moment stage `ended` ended).

    >>> from datetime import UTC
    >>> from fhir_rehab.program.sciatica import SCIATICA_PROGRAM as p
    >>> plan = [
    ...     StageState(p.stage(1), "t1", "completed", planned_start="2026-01-01T00:00:00+00:00",
    ...                planned_end="2026-01-15T00:00:00+00:00"),
    ...     StageState(p.stage(2), "t2", "draft", planned_start="2026-01-15T00:00:00+00:00",
    ...                planned_end="2026-02-05T00:00:00+00:00"),
    ...     StageState(p.stage(3), "t3", "draft"),
    ... ]
    >>> moved = replan_after(plan, 1, datetime(2026, 1, 8, tzinfo=UTC))  # a week early
    >>> [(k, w.start.date().isoformat(), w.end.date().isoformat()) for k, w in moved.items()]
    [('t2', '2026-01-08', '2026-01-29'), ('t3', '2026-01-29', '2026-03-05')]
    """
    out: dict[str, Window] = {}
    start = when
    for stage in sorted(stages, key=lambda s: s.stage.number):
        if stage.stage.number <= ended or stage.status not in NOT_STARTED:
            continue
        window = Window(start, start + planned_length(stage))
        out[stage.task_id] = window
        start = window.end
    return out
