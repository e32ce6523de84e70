"""A signed-in session's life: a new id at every login, idle and absolute timeouts."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

SIGNED_IN_AT_KEY = "signed_in_at"  # when the launch completed (absolute lifetime)
SEEN_AT_KEY = "last_seen_at"  # the last request (idle timeout)
SEEN_RESOLUTION_SECONDS = 30  # last_seen_at is rewritten at most this often (fewer writes)


def rotate_session_id(interface: Any, session: Any) -> None:
    """Give the session a new id and delete the old one from the store, even when the session
    is empty (flask-session 0.8's `regenerate` does nothing then, which let a session id
    planted before the first login survive it)."""
    old = getattr(session, "sid", None)
    if old:
        interface._delete_session(interface._get_store_id(old))
    session.sid = interface._generate_sid(interface.sid_length)
    session.modified = True


def mark_signed_in(session: MutableMapping[str, Any], now: float) -> None:
    session[SIGNED_IN_AT_KEY] = int(now)
    session[SEEN_AT_KEY] = int(now)


def session_end_reason(
    session: MutableMapping[str, Any], now: float, *, idle_timeout: int, lifetime: int
) -> str | None:
    """Why the signed-in session has ended (a sentence for the user), or None when it goes on;
    a live session's last activity is recorded.

    >>> s = {"signed_in_at": 0, "last_seen_at": 0}
    >>> session_end_reason(s, 100, idle_timeout=600, lifetime=3600) is None, s["last_seen_at"]
    (True, 100)
    >>> session_end_reason(s, 701, idle_timeout=600, lifetime=3600)
    'You were signed out after 10 minutes without activity. Open the app again from the EHR.'
    """
    signed_in, seen = session.get(SIGNED_IN_AT_KEY), session.get(SEEN_AT_KEY)
    if not isinstance(signed_in, int) or not isinstance(seen, int):
        return "Your session has ended. Open the app again from the EHR."
    if lifetime and now - signed_in > lifetime:
        return (
            f"You were signed in for {_duration(lifetime)}, the longest a session lasts. "
            "Open the app again from the EHR."
        )
    if idle_timeout and now - seen > idle_timeout:
        return (
            f"You were signed out after {_duration(idle_timeout)} without activity. "
            "Open the app again from the EHR."
        )
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT_KEY] = int(now)
    return None


def _duration(seconds: int) -> str:
    """
    >>> _duration(1800), _duration(8 * 3600), _duration(60), _duration(90)
    ('30 minutes', '8 hours', '1 minute', '90 seconds')
    """
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} seconds"
