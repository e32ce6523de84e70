"""Run the app as `fhir-rehab serve` (gunicorn master and workers) in a child process.

Used where the app must run as it is deployed, not in a thread: the multi-worker test, the
two-instance balancer test and the load benchmark. The child gets the caller's environment
without any `FHIR_REHAB_*` setting, plus the settings given, so nothing leaks in from the shell.
It runs in its own process group, so `kill()` takes the master and its workers down at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import requests

from ehr_sandbox.errors import SandboxError

REPO = Path(__file__).resolve().parents[1]


class ServeError(SandboxError):
    """`fhir-rehab serve` exited or did not answer in time."""


class ServedApp:
    """`fhir-rehab serve --bind 127.0.0.1:<port> --workers <n>` with the given settings."""

    def __init__(self, port: int, settings: Mapping[str, str], log: Path, workers: int = 2) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("FHIR_REHAB_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env.update(settings)
        self._log = log.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            [
                sys.executable,
                "-m",
                "fhir_rehab.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> ServedApp:
        """Poll until the app answers; fail with the end of its log if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServeError(f"fhir-rehab serve exited: {self.log_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/static/app.css", timeout=5)
                return self
            except requests.RequestException:
                time.sleep(0.1)  # readiness poll, not a timing assumption
        raise ServeError(f"fhir-rehab serve did not answer within {timeout:.0f} s")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """Sudden death of the whole instance (master and workers), as a crashed host."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        """A graceful stop (SIGTERM to the group); killed if it does not end within 20 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def __enter__(self) -> ServedApp:
        return self.wait_ready()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
