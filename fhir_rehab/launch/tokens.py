"""The access token for FHIR calls: refreshed shortly before expiry, once per session at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from fhir_rehab.launch.errors import (
    AccessExpired,
    AccessRejected,
    RefreshError,
    RelaunchRequired,
    RenewalRefused,
)
from fhir_rehab.launch.store import LAUNCH_KEY, TOKEN_KEY, SessionLocks, SessionStore

log = logging.getLogger(__name__)

# (stored token) -> new token fields (access_token, refresh_token, expires_at); raises on failure.
Refresher = Callable[[dict[str, Any]], dict[str, Any]]


class SessionTokenProvider:
    """A FhirClient `token_provider` bound to one session.

    Called before every FHIR request. When the token expires within `leeway` seconds it takes
    the session's lock, re-reads the stored session (another request may have refreshed
    already), refreshes at most once, and writes the new token through to the store. There is
    no loop: a refresh that fails, or a token rejected right after a refresh, ends the launch
    (a RelaunchRequired naming the cause, whose page says how to relaunch) and clears the token
    from the session.
    """

    def __init__(
        self,
        *,
        sid: str,
        session: MutableMapping[str, Any],
        store: SessionStore,
        locks: SessionLocks,
        refresher: Refresher,
        clock: Callable[[], float],
        leeway: float,
    ) -> None:
        self.sid = sid
        self.session = session
        self.store = store
        self.locks = locks
        self.refresher = refresher
        self.clock = clock
        self.leeway = leeway
        self.last_access_token: str | None = None
        self.refreshed = False  # a refresh happened through this provider (one per request)

    def __call__(self) -> str:
        token = self.session.get(TOKEN_KEY)
        if not token or not token.get("access_token"):
            raise RelaunchRequired()
        if self._expiring(token):
            token = self._refresh_once(seen=token["access_token"])
        self.last_access_token = token["access_token"]
        return str(token["access_token"])

    def recover_from_rejection(self) -> None:
        """The server answered 401 to the last token: refresh once, unless done already."""
        if self.refreshed or self.last_access_token is None:
            self.end_launch()
            raise AccessRejected()
        self._refresh_once(seen=self.last_access_token, rejected=True)

    # -- internals -------------------------------------------------------------------------
    def _expiring(self, token: dict[str, Any]) -> bool:
        """Due for a refresh: within `leeway` of expiry when a refresh token can renew it;
        without one the token is used until it really expires (nothing could replace it)."""
        expires_at = token.get("expires_at")
        leeway = self.leeway if token.get("refresh_token") else 0
        return expires_at is not None and self.clock() >= float(expires_at) - leeway

    def _refresh_once(self, *, seen: str, rejected: bool = False) -> dict[str, Any]:
        with self.locks.hold(self.sid):
            stored_session = self.store.load(self.sid)
            stored = (stored_session or {}).get(TOKEN_KEY)
            if stored_session is None or not stored:
                self.end_launch()
                raise RelaunchRequired()
            if stored.get("access_token") != seen and not self._expiring(stored):
                # Someone refreshed while we waited: use theirs, do not refresh again.
                self.session[TOKEN_KEY] = stored
                return dict(stored)
            if not stored.get("refresh_token"):
                self.end_launch(stored_session)
                raise AccessRejected() if rejected else AccessExpired()
            try:
                fresh = self.refresher(dict(stored))
            except RefreshError as exc:
                log.warning(
                    "token refresh failed (%s); the launch ends (relaunch needed)", exc or "no detail"
                )
                self.end_launch(stored_session)
                raise (AccessRejected() if rejected else RenewalRefused()) from None
            token = {**stored, **fresh}
            stored_session[TOKEN_KEY] = token
            self.store.save(self.sid, stored_session)
            self.session[TOKEN_KEY] = token
            self.refreshed = True
            log.info("access token refreshed%s", " after a 401" if rejected else "")
            return dict(token)

    def end_launch(self, stored_session: dict[str, Any] | None = None) -> None:
        """Forget the token and the launch, here and in the store, so the next page relaunches."""
        for key in (TOKEN_KEY, LAUNCH_KEY):
            self.session.pop(key, None)
        if stored_session is None:
            stored_session = self.store.load(self.sid)
        if stored_session is not None and (TOKEN_KEY in stored_session or LAUNCH_KEY in stored_session):
            stored_session.pop(TOKEN_KEY, None)
            stored_session.pop(LAUNCH_KEY, None)
            self.store.save(self.sid, stored_session)


def token_to_save(ours: Mapping[str, Any], stored: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The token a request saves with its changed session: its own copy, unless the store holds a
    newer one (another request refreshed meanwhile) or none (another request ended the launch).

    Every token change after the login is written through to the store under the session's
    lock, so a copy read when the request began can only be as new as the store's, or older.

    >>> old, new = {"access_token": "a", "expires_at": 10}, {"access_token": "b", "expires_at": 20}
    >>> token_to_save(old, new)["access_token"], token_to_save(new, new)["access_token"]
    ('b', 'b')
    >>> token_to_save(old, None) is None, token_to_save(new, old)["access_token"]
    (True, 'b')
    """
    if stored is None:
        return None
    newer = float(stored.get("expires_at") or 0) >= float(ours.get("expires_at") or 0)
    return stored if stored.get("access_token") != ours.get("access_token") and newer else ours
