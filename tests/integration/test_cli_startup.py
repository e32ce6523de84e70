"""The command line starts cheaply: building the parser imports no sandbox, server or models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("ehr_sandbox", "gunicorn", "fhir.resources", "pydantic", "flask", "requests")


def _modules_after(argv: list[str]) -> tuple[int, str, list[str]]:
    """Run the CLI's main in a fresh interpreter; its exit code, output and loaded modules."""
    code = (
        "import contextlib, io, json, sys\n"
        "from fhir_rehab.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n"
        f"    rc = main({argv!r})\n"
        "print(json.dumps([rc, out.getvalue(), sorted(sys.modules)]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    rc, output, modules = json.loads(done.stdout.splitlines()[-1])
    return rc, output, modules


def test_help_lists_every_command_without_heavy_imports() -> None:
    rc, output, modules = _modules_after(["--help"])
    assert rc == 0
    for command in ("start", "pain", "oswestry", "complete-stage", "sandbox", "serve"):
        assert command in output
    loaded = [m for m in modules if m.startswith(HEAVY)]
    assert loaded == []


def test_a_usage_error_is_reported_without_heavy_imports() -> None:
    rc, output, modules = _modules_after(
        ["pain", "--fhir-base", "http://x", "--patient", "p", "--score", "11"]
    )
    assert rc == 2
    assert "invalid choice" in output
    assert [m for m in modules if m.startswith(HEAVY)] == []


def test_serve_help_still_shows_its_options() -> None:
    rc, output, modules = _modules_after(["serve", "--help"])
    assert rc == 0 and "--workers" in output
    assert "gunicorn" in modules  # loaded because serve was asked for, and only then
