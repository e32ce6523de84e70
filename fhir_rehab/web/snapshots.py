"""The patient record a page was rendered from, kept server side for the form posts that follow.

One round trip per action: a form post builds its write from the record the user saw, never
re-reading it first. That is safe because every update in the write is If-Match guarded on the
versions in that record (anyone's change since fails the whole transaction: 409/412, the
conflict page, nothing lost), the open-review guard sits inside the transaction too
(services.program), and the transaction reads the record again after its writes
(resources.bundle.Transaction.read). That fresh record is kept as well, marked fresh: the page
the post redirects to renders from it instead of reading again.

Files live in the instance folder (one per browser session, FHIR base and patient, named by a
hash of the three; no tokens), shared by every worker of a host. A missing or old snapshot
costs one read, never correctness: pages read the record whenever no fresh one is waiting.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, session

from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.services.record import PatientRecord

MAX_AGE_SECONDS = 30 * 60  # a form older than this re-reads the record before writing
FRESH_SECONDS = 60  # the page after a post renders from the post's own reads within this
PRUNE_SECONDS = 300
FORMAT = 1


@dataclass
class RecordSnapshots:
    """Snapshots in `directory`; `clock` is injectable for tests."""

    directory: Path
    clock: Callable[[], float] = time.time
    _pruned_at: float = field(default=0.0, init=False)

    def key(self, sid: str, fhir_base: str, patient_id: str) -> str:
        return hashlib.sha256(f"{sid}\n{fhir_base.rstrip('/')}\n{patient_id}".encode()).hexdigest()[:40]

    def save(self, key: str, record: PatientRecord, *, fresh: bool) -> None:
        """Keep `record` (fresh: straight from a write's own reads, for the next page)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {
            "format": FORMAT,
            "at": self.clock(),
            "patient_id": record.patient_id,
            "patient": record.patient,
            "resources": record.resources,
        }
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".snap-")
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps(data, separators=(",", ":")))  # C encoder: json.dump streams in Python
        os.replace(tmp, self.directory / key)  # atomic: a reader sees the old or the new file
        marker = self.directory / f"{key}.fresh"
        if fresh:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)
        self._prune()

    def load(self, key: str, patient_id: str, *, fresh_only: bool = False) -> PatientRecord | None:
        """The snapshot if it is of this patient and recent enough. `fresh_only`: only a post's
        own reads, and only once (the marker is removed, so a reload reads the record again)."""
        if fresh_only:
            try:
                (self.directory / f"{key}.fresh").unlink()
            except OSError:
                return None
        try:
            data = json.loads((self.directory / key).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("patient_id") != patient_id:
            return None
        age = self.clock() - float(data.get("at") or 0)
        if not 0 <= age <= (FRESH_SECONDS if fresh_only else MAX_AGE_SECONDS):
            return None
        patient, resources = data.get("patient"), data.get("resources")
        if not isinstance(patient, dict) or not isinstance(resources, list):
            return None
        return PatientRecord(patient_id, patient, resources)

    def stash(self, key: str, data: dict[str, object]) -> None:
        """Keep `data` (JSON) for the next page of this session, once (`take`)."""
        self._write(f"{key}.stash", data)

    def take(self, key: str) -> dict[str, object] | None:
        """What `stash` kept, if recent (FRESH_SECONDS); removed as it is read."""
        return self._read(f"{key}.stash", FRESH_SECONDS, remove=True)

    def keep(self, key: str, data: dict[str, object]) -> None:
        """Keep `data` (JSON) for this session's later form posts (`recall`), replacing it."""
        self._write(f"{key}.kept", data)

    def recall(self, key: str) -> dict[str, object] | None:
        """What `keep` kept, if younger than MAX_AGE_SECONDS (a form older than that re-reads)."""
        return self._read(f"{key}.kept", MAX_AGE_SECONDS, remove=False)

    def _write(self, name: str, data: dict[str, object]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".stash-")
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps({"at": self.clock(), "data": data}, separators=(",", ":")))
        os.replace(tmp, self.directory / name)

    def _read(self, name: str, max_age: float, *, remove: bool) -> dict[str, object] | None:
        path = self.directory / name
        try:
            text = path.read_text()
            if remove:
                path.unlink()
            found = json.loads(text)
        except (OSError, ValueError):
            return None
        if not isinstance(found, dict) or not 0 <= self.clock() - float(found.get("at") or 0) <= max_age:
            return None
        data = found.get("data")
        return data if isinstance(data, dict) else None

    def forget(self, key: str) -> None:
        for path in (self.directory / key, self.directory / f"{key}.fresh"):
            path.unlink(missing_ok=True)

    def _prune(self) -> None:
        """Remove snapshots past their age, at most once every few minutes per process."""
        now = self.clock()
        if now - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = now
        for path in self.directory.iterdir():
            try:
                if now - path.stat().st_mtime > MAX_AGE_SECONDS:
                    path.unlink(missing_ok=True)
            except OSError:
                continue


def snapshots() -> RecordSnapshots:
    """The app's snapshots (RECORD_SNAPSHOT_DIR, default <instance>/snapshots)."""
    directory = current_app.config.get("RECORD_SNAPSHOT_DIR") or Path(current_app.instance_path) / "snapshots"
    return _snapshots_in(str(directory))


@functools.cache
def _snapshots_in(directory: str) -> RecordSnapshots:
    return RecordSnapshots(Path(directory))


def snapshot_key(launch: LaunchContext) -> str | None:
    """This browser session's key for the launch patient's record (None: no session id)."""
    sid = getattr(session, "sid", None)
    if not sid or not launch.patient_id:
        return None
    return snapshots().key(str(sid), launch.iss, launch.patient_id)


def session_key(launch: LaunchContext, what: str) -> str | None:
    """This browser session's key for something else than a patient's record (`what`)."""
    sid = getattr(session, "sid", None)
    if not sid:
        return None
    return snapshots().key(str(sid), launch.iss, f"{what}:")
