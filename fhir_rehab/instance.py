"""What the app keeps in its instance folder: the secret key every worker process shares."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fhir_rehab.errors import FhirRehabError

KEY_BYTES = 32


class InstanceKeyError(FhirRehabError):
    """The instance secret key file exists but cannot be used (unreadable or too short)."""


def shared_secret_key(path: str | Path) -> str:
    """The secret key stored at `path`, created there (mode 0600) on first use.

    Every worker of `fhir-rehab serve` (and every restart) reads the same key, so a form
    rendered by one worker is accepted by another. Creation is atomic: the key is written to a
    temporary file and hard-linked into place, which fails if another process won the race; the
    loser then reads the winner's key, never a half-written file.
    """
    target = Path(path)
    found = _read(target)
    if found:
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(KEY_BYTES)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        try:
            os.link(tmp, target)
        except FileExistsError:
            pass  # another worker created it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)
    found = _read(target)
    if not found:
        raise InstanceKeyError(f"The secret key file {target} vanished while it was created.")
    return found


def _read(target: Path) -> str | None:
    try:
        value = target.read_text().strip()
    except FileNotFoundError:
        return None
    if len(value) < 2 * KEY_BYTES:
        raise InstanceKeyError(f"The secret key file {target} is too short: delete it or set a key.")
    return value
