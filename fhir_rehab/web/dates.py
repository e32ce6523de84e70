"""Dates in plain words for the pages ("12 Mar 1980"), as the `day` template filter."""

from __future__ import annotations

from datetime import date, datetime


def _parse(value: object) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) <= 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def day(value: object) -> str:
    """A date (or the date of an instant) as words; an unreadable value as an empty string.

    >>> day("1980-03-12"), day("2026-12-20T09:00:00+00:00"), day("2026-02"), day(None)
    ('12 Mar 1980', '20 Dec 2026', '', '')
    """
    parsed = _parse(value)
    return parsed.strftime("%d %b %Y") if parsed else ""
