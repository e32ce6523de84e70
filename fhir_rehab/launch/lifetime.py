"""A signed-in session's life: a new id at every login, idle and absolute timeouts.

The last activity is the session's `touched` stamp (launch/runtime.py), which the app already
rewrites at most every few minutes to keep an active session alive: the idle timeout costs no
extra session writes, and is exact to within that interval (a sixth of the idle timeout at most).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

SIGNED_IN_AT_KEY = "signed_in_at"  # when the launch completed (absolute lifetime)


def rotate_session_id(interface: Any, session: Any) -> None:
    """Give the session a new id and delete the old one from the store, even when the session
    is empty (flask-session 0.8's `regenerate` does nothing then, which let a session id
    planted before the first login survive it)."""
    old = getattr(session, "sid", None)
    if old:
        interface._delete_session(interface._get_store_id(old))
    session.sid = interface._generate_sid(interface.sid_length)
    session.modified = True


def touch_interval(idle_timeout: int, default: int) -> int:
    """How often the activity stamp is rewritten: `default`, or a sixth of a short idle timeout.

    >>> touch_interval(1800, 300), touch_interval(600, 300), touch_interval(0, 300)
    (300, 100, 300)
    """
    return min(default, max(1, idle_timeout // 6)) if idle_timeout else default


def session_end_reason(
    session: MutableMapping[str, Any], now: float, *, last_seen_key: str, idle_timeout: int, lifetime: int
) -> str | None:
    """Why the signed-in session has ended (a sentence for the user), or None when it goes on.

    >>> s = {"signed_in_at": 0, "touched": 0}
    >>> session_end_reason(s, 100, last_seen_key="touched", idle_timeout=600, lifetime=3600) is None
    True
    >>> session_end_reason(s, 701, last_seen_key="touched", idle_timeout=600, lifetime=3600)
    'You were signed out after 10 minutes without activity. Open the app again from the EHR.'
    """
    signed_in = session.get(SIGNED_IN_AT_KEY)
    seen = session.get(last_seen_key) or signed_in
    if isinstance(signed_in, int) and lifetime and now - signed_in > lifetime:
        return (
            f"You were signed in for {_duration(lifetime)}, the longest a session lasts. "
            "Open the app again from the EHR."
        )
    if isinstance(seen, int) and idle_timeout and now - seen > idle_timeout:
        return (
            f"You were signed out after {_duration(idle_timeout)} without activity. "
            "Open the app again from the EHR."
        )
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
