"""Where launch state lives: server-side session keys, a write-through store, per-session locks."""

from __future__ import annotations

import fcntl
import hashlib
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from redis.exceptions import LockError

# Server-side session keys (the browser only ever holds the opaque session id).
PENDING_KEY = "smart_pending"  # state -> in-flight authorization request (verifier, nonce, ...)
LAUNCH_KEY = "smart_launch"  # the launch context (no tokens)
TOKEN_KEY = "smart_token"  # noqa: S105 (a key name, not a secret): access/refresh token, expires_at, token_endpoint


class SessionStore(Protocol):
    """Read and write one session's stored data outside the request's own session copy."""

    def load(self, sid: str) -> dict[str, Any] | None: ...

    def save(self, sid: str, data: Mapping[str, Any]) -> None: ...


class FlaskSessionStore:
    """A SessionStore over flask-session's interface (pinned flask-session==0.8.0).

    Concurrent requests of one session each hold their own copy of the session, saved only
    when the response goes out; a refreshed token must be visible to the next request at
    once, so it is written through here while the refresh lock is held.
    """

    def __init__(self, interface: Any, lifetime: Any) -> None:
        self.interface = interface
        self.lifetime = lifetime

    def load(self, sid: str) -> dict[str, Any] | None:
        data = self.interface._retrieve_session_data(self.interface._get_store_id(sid))
        return dict(data) if data is not None else None

    def save(self, sid: str, data: Mapping[str, Any]) -> None:
        self.interface._upsert_session(self.lifetime, dict(data), self.interface._get_store_id(sid))


class MemorySessionStore:
    """A SessionStore in a dict, for tests and single-process tools."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def load(self, sid: str) -> dict[str, Any] | None:
        stored = self.data.get(sid)
        return dict(stored) if stored is not None else None

    def save(self, sid: str, data: Mapping[str, Any]) -> None:
        self.data[sid] = dict(data)


class SessionLocks:
    """One lock per session id, so one session refreshes its token once at a time.

    In-process; with sessions in Redis the app uses RedisSessionLocks, which also holds
    across worker processes.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, sid: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.get(sid)
            if lock is None:
                lock = threading.Lock()
                self._locks[sid] = lock
        with lock:
            yield


class RedisSessionLocks(SessionLocks):
    """A Redis lock per session id: one refresh at a time across every worker process.

    The lock expires after `timeout` seconds so a crashed worker cannot hold it for ever (a
    refresh takes at most LAUNCH_HTTP_TIMEOUT_SECONDS, 10 by default). Waiters wait longer
    than that (`wait`), so when the holder dies they take the lock in turn after it expires
    and the first refreshes once; only a waiter that gives up goes on unlocked, re-reading
    the session anyway.
    """

    PREFIX = "fhir-rehab:refresh-lock:"

    def __init__(self, client: Any, timeout: float = 15.0, wait: float = 25.0) -> None:
        super().__init__()
        self.client, self.timeout, self.wait = client, timeout, wait

    @contextmanager
    def hold(self, sid: str) -> Iterator[None]:
        with super().hold(sid):  # threads of this process queue locally first
            lock = self.client.lock(self.PREFIX + sid, timeout=self.timeout)
            acquired = lock.acquire(blocking=True, blocking_timeout=self.wait)
            try:
                yield
            finally:
                if acquired:
                    try:
                        lock.release()
                    except LockError:  # expired meanwhile: another worker may own it now
                        pass


class FileSessionLocks(SessionLocks):
    """A file lock (flock) per session id: one refresh at a time across every worker process
    that shares the file session store, as RedisSessionLocks does for Redis.

    The kernel drops the lock when its holder dies, so a crashed worker cannot hold it.
    """

    def __init__(self, directory: str | Path) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def hold(self, sid: str) -> Iterator[None]:
        with super().hold(sid):  # threads of this process queue locally first
            name = hashlib.sha256(sid.encode()).hexdigest()[:32]  # no session id on disk
            with open(self.directory / f"{name}.lock", "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
