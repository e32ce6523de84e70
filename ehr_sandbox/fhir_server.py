"""Start and stop the local FHIR R4 server (sekmet-fhir, SQLite storage) on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import requests

from ehr_sandbox.errors import FhirServerError

SEKMET_VERSION = "0.1.1"


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalFhirServer:
    """A sekmet-fhir process on 127.0.0.1 with its simulator disabled.

    Use as a context manager; `base_url` is the FHIR base once started. With no `data_dir`
    the data lives in a temporary directory removed on stop.
    """

    def __init__(
        self, data_dir: str | Path | None = None, port: int | None = None, startup_timeout: float = 60.0
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fhir-rehab-fhir-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        self._proc: subprocess.Popen[bytes] | None = None

    def _write_settings(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = self.data_dir / "sekmet-settings.yaml"
        # JSON is valid YAML; no extra dependency needed to write it.
        settings.write_text(
            "{"
            f'"base_url": "{self.base_url}", "host": "127.0.0.1", "port": {self.port}, '
            f'"data_dir": "{self.data_dir}", "simulator": {{"enabled": false}}, '
            '"log_inbound": false'
            "}\n"
        )
        return settings

    def start(self) -> LocalFhirServer:
        settings = self._write_settings()
        env = {**os.environ, "SEKMET_CONFIG": str(settings)}
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "uvicorn",
                "sekmet.main:app_factory",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=self.data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise FhirServerError(
                    f"sekmet-fhir exited with {self._proc.returncode}; see {self.data_dir}/server.log"
                )
            try:
                if requests.get(f"{self.base_url}/metadata", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # readiness poll, not a timing assumption
        self.stop()
        raise FhirServerError(f"sekmet-fhir did not answer /metadata within {self.startup_timeout}s")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalFhirServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
