"""Server-side CDS Hooks state in the sessions' store: used JWT ids, issued cards, feedback.

Redis when SESSION_REDIS_URL is set (shared by every worker), else files under CDS_STORE_DIR.
Each write that must happen once (a `jti`, a feedback item) is atomic: Redis SET NX / HSETNX,
or a file created with O_EXCL.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

CARD_TTL_SECONDS = 400 * 24 * 3600  # issued cards are remembered ~13 months, for the report


def digest(*parts: str) -> str:
    """A fixed-length key for free-form parts (an issuer and its jti, a feedback item).

    >>> len(digest("https://ehr", "abc"))
    64
    """
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class CdsStore(Protocol):
    """What the CDS service remembers between calls."""

    def use_jti(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record a JWT id until `expires_at`; False when it was used before (a replay)."""
        ...

    def remember_cards(self, kinds: Mapping[str, str]) -> None:
        """Remember card uuid -> kind, so feedback can be counted by kind."""
        ...

    def card_kind(self, card_uuid: str) -> str | None: ...

    def add_feedback(self, key: str, record: Mapping[str, Any]) -> bool:
        """Store one feedback item under its key; False when that item was stored already."""
        ...

    def feedback(self) -> list[dict[str, Any]]: ...

    def issued_cards(self) -> dict[str, str]: ...


class RedisCdsStore:
    """The store in Redis (the same server as the sessions)."""

    PREFIX = "fhir-rehab:cds:"

    def __init__(self, client: Any) -> None:
        self.client = client

    def use_jti(self, issuer: str, jti: str, expires_at: float) -> bool:
        key = f"{self.PREFIX}jti:{digest(issuer, jti)}"
        ttl = max(1, int(expires_at - time.time()) + 1)
        return bool(self.client.set(key, b"1", nx=True, ex=ttl))

    def remember_cards(self, kinds: Mapping[str, str]) -> None:
        if kinds:
            self.client.hset(f"{self.PREFIX}cards", mapping=dict(kinds))

    def card_kind(self, card_uuid: str) -> str | None:
        value = self.client.hget(f"{self.PREFIX}cards", card_uuid)
        return value.decode() if isinstance(value, bytes) else value

    def add_feedback(self, key: str, record: Mapping[str, Any]) -> bool:
        return bool(self.client.hsetnx(f"{self.PREFIX}feedback", key, json.dumps(dict(record))))

    def feedback(self) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.client.hvals(f"{self.PREFIX}feedback")]

    def issued_cards(self) -> dict[str, str]:
        raw = self.client.hgetall(f"{self.PREFIX}cards")
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class FileCdsStore:
    """The store as files: one per used jti, per issued card, per feedback item."""

    PRUNE_EVERY = 256

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._uses = 0
        self._lock = threading.Lock()

    def use_jti(self, issuer: str, jti: str, expires_at: float) -> bool:
        self._maybe_prune()
        path = self.root / "jti" / digest(issuer, jti)
        if _create_once(path, str(expires_at)):
            return True
        # Seen before. Only a record whose own expiry passed may be replaced (that token is dead).
        try:
            stale = float(path.read_text() or 0) < time.time()
        except (OSError, ValueError):
            stale = False
        if stale:
            path.unlink(missing_ok=True)
            return _create_once(path, str(expires_at))
        return False

    def remember_cards(self, kinds: Mapping[str, str]) -> None:
        for card_uuid, kind in kinds.items():
            path = self.root / "cards" / digest(card_uuid)
            if not path.exists():
                _write_atomic(path, json.dumps({"uuid": card_uuid, "kind": kind}))

    def card_kind(self, card_uuid: str) -> str | None:
        try:
            return str(json.loads((self.root / "cards" / digest(card_uuid)).read_text())["kind"])
        except (OSError, ValueError, KeyError):
            return None

    def add_feedback(self, key: str, record: Mapping[str, Any]) -> bool:
        return _create_once(self.root / "feedback" / digest(key), json.dumps(dict(record)))

    def feedback(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in _read_all(self.root / "feedback")]

    def issued_cards(self) -> dict[str, str]:
        cards = (json.loads(text) for text in _read_all(self.root / "cards"))
        return {str(c["uuid"]): str(c["kind"]) for c in cards}

    def _maybe_prune(self) -> None:
        with self._lock:
            self._uses += 1
            if self._uses % self.PRUNE_EVERY:
                return
        now = time.time()
        folder = self.root / "jti"
        for path in folder.iterdir() if folder.is_dir() else ():
            try:
                if float(path.read_text() or 0) < now:
                    path.unlink(missing_ok=True)
            except (OSError, ValueError):
                continue


def _create_once(path: Path, text: str) -> bool:
    """Create `path` holding `text` unless it exists: written aside, then hard-linked into
    place, so the file appears whole and only once even across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _read_all(folder: Path) -> list[str]:
    out: list[str] = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            text = path.read_text()
        except OSError:
            continue
        if text:
            out.append(text)
    return out
