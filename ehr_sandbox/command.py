"""`fhir-rehab sandbox`: run the FHIR server, sandbox EHR and app until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ehr_sandbox.errors import FhirServerError
from ehr_sandbox.runner import SandboxStack

DESCRIPTION = (
    "Start the local FHIR server, seed synthetic patients, start the sandbox EHR and the app; "
    "Ctrl-C stops all."
)


def main(argv: Sequence[str] | None = None) -> int:
    """`fhir-rehab sandbox [options]` (the `fhir_rehab.tools` entry point named "sandbox")."""
    parser = argparse.ArgumentParser(prog="fhir-rehab sandbox", description=DESCRIPTION)
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # 0 on --help, 2 on a usage error
        return int(exc.code or 0)
    return run(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox command's options."""
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="skip the consent page (approve every authorization request)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the FHIR server's data here (default: a temporary directory)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port of the sandbox EHR and its FHIR base (default: a free port)",
    )
    parser.add_argument(
        "--app-port", type=int, default=None, help="port of the fhir-rehab app (default: a free port)"
    )
    parser.add_argument(
        "--fhir-port", type=int, default=None, help="port of the local FHIR server (default: a free port)"
    )


def run(args: argparse.Namespace, *, stop: threading.Event | None = None, out: TextIO | None = None) -> int:
    """Start the stack, print its addresses, wait for SIGINT/SIGTERM (or `stop`), shut down."""
    out = out or sys.stdout
    stop = stop or threading.Event()
    previous = install_stop_handlers(stop)
    try:
        with SandboxStack(
            auto_approve=args.auto_approve,
            data_dir=args.data_dir,
            ehr_port=args.port,
            app_port=args.app_port,
            fhir_port=args.fhir_port,
        ) as stack:
            print(f"Sandbox EHR:  {stack.ehr_url}", file=out)
            print(f"fhir-rehab:   {stack.app_url}", file=out)
            print(f"FHIR base:    {stack.fhir_base}  (backing server {stack.backing_fhir_base})", file=out)
            print("Press Ctrl-C to stop.", file=out, flush=True)
            stop.wait()
            print("Stopping...", file=out, flush=True)
    except (FhirServerError, OSError) as error:
        print(f"The sandbox could not start: {error}", file=sys.stderr)
        return 1
    finally:
        restore_handlers(previous)
    return 0


def install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    """SIGINT and SIGTERM set `stop`; only possible (and needed) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous


def restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
