"""`fhir-rehab serve`: the app under gunicorn, configured by FHIR_REHAB_* environment variables."""

from __future__ import annotations

import argparse
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornApp(BaseApplication):
    """Run `create_app()` in gunicorn workers (one app per worker)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        """Called once in the master (`preload_app`): the app, its imports and the FHIR model
        classes are ready before the workers fork, and every worker shares them."""
        from fhir_rehab import create_app
        from fhir_rehab.resources.wire import load_models

        app = create_app()
        load_models()
        return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (default 127.0.0.1:8000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=60, help="worker timeout, seconds")


def run(args: argparse.Namespace) -> int:
    GunicornApp(
        {
            "bind": args.bind,
            "workers": args.workers,
            "timeout": args.timeout,
            "preload_app": True,
            # gunicorn 27's control socket lives in ~/.gunicorn: two instances on one host
            # would share it. Nothing here uses it.
            "control_socket_disable": True,
            "accesslog": "-",
            # The worker's pid shows which worker served a request; paths only (no query
            # strings: they can carry authorization codes and state).
            "access_log_format": '%(p)s %(h)s "%(m)s %(U)s" %(s)s %(L)ss',
        }
    ).run()
    return 0
