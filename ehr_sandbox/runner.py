"""`SandboxStack`: FHIR server, seeded patients, sandbox EHR and the fhir-rehab app on loopback."""

from __future__ import annotations

import importlib
import secrets
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from joserfc.jwk import ECKey, RSAKey
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ehr_sandbox.app import create_sandbox_app
from ehr_sandbox.auth.server import EXTENSION, SandboxRuntime
from ehr_sandbox.errors import ConfigurationError
from ehr_sandbox.fhir_server import LocalFhirServer, free_port
from ehr_sandbox.settings import DEFAULT_ALLOWED_SCOPE, ClientRegistration, SandboxSettings
from fhir_rehab.fhir.client import FhirClient

HOST = "127.0.0.1"
# The sandbox reaches the app only through these two public names, imported when the stack starts.
APP_FACTORY = "fhir_rehab:create_app"
APP_SEED = "fhir_rehab.services.seed:seed_demo_patients"
# What the sandbox EHR grants the app's SMART Backend Services client (client_credentials,
# private_key_jwt ES384): the updates a self-check hold makes, Goal reads, Provenance creates.
BACKEND_SCOPE = "system/CarePlan.u system/Task.u system/ServiceRequest.u system/Goal.ru system/Provenance.c"
SeedFunction = Callable[[FhirClient], Sequence[Any]]


def load_object(spec: str) -> Any:
    """The object a "package.module:name" string names (as gunicorn and entry points do).

    >>> load_object("os.path:join")("a", "b")
    'a/b'
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(f"{spec!r} is not of the form 'package.module:name'")
    return getattr(importlib.import_module(module_name), attr)


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Logs method, path and status only: query strings carry authorization codes and state."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log("info", '"%s %s" %s', self.command, urlsplit(self.path).path, code)


class ServerThread:
    """One WSGI app served by werkzeug in a daemon thread."""

    def __init__(self, app: Flask, port: int) -> None:
        self.server: BaseWSGIServer = make_server(
            HOST, port, app, threaded=True, request_handler=PathOnlyRequestHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name=f"wsgi-{port}")

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


class SandboxStack:
    """Start everything on 127.0.0.1 (free ports unless given); stop it all on exit.

    `client_auth` is how the fhir-rehab app authenticates at the token endpoint: "none"
    (public), "client_secret_basic" or "private_key_jwt" (JWKS at `{app}/.well-known/jwks.json`).
    """

    def __init__(
        self,
        *,
        fhir_base: str | None = None,
        data_dir: str | Path | None = None,
        seed: SeedFunction | None = None,
        auto_approve: bool = False,
        ehr_port: int | None = None,
        app_port: int | None = None,
        fhir_port: int | None = None,
        client_id: str = "fhir-rehab",
        client_auth: str = "none",
        client_scope: str = DEFAULT_ALLOWED_SCOPE,
        access_token_lifetime: int = 3600,
        start_app: bool = True,
        app_config: Mapping[str, Any] | None = None,
        app_factory: str = APP_FACTORY,
        backend_services: bool = True,
    ) -> None:
        self._given_fhir_base = fhir_base
        self._data_dir = data_dir
        self._seed = seed
        self._app_factory = app_factory
        self.auto_approve = auto_approve
        self.ehr_port = ehr_port or free_port()
        self.app_port = app_port or free_port()
        self._fhir_port = fhir_port
        self.client_id = client_id
        self.client_auth = client_auth
        self.client_scope = client_scope
        self.access_token_lifetime = access_token_lifetime
        self.start_app = start_app
        self._app_config = dict(app_config or {})
        # The app's backend client (a self-check's hold on the record); False: none configured.
        self.backend_services = backend_services
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._fhir: LocalFhirServer | None = None
        self._threads: list[ServerThread] = []
        self.patients: list[Any] = []
        self.sandbox_app: Flask | None = None
        self.app: Flask | None = None

    # -- addresses -----------------------------------------------------------------------
    @property
    def sandbox_url(self) -> str:
        return f"http://{HOST}:{self.ehr_port}"

    @property
    def ehr_url(self) -> str:
        return f"{self.sandbox_url}/ehr/"

    @property
    def fhir_base(self) -> str:
        """The sandbox's FHIR base: the `iss` the app is launched with."""
        return f"{self.sandbox_url}/fhir"

    @property
    def backing_fhir_base(self) -> str:
        if self._given_fhir_base:
            return self._given_fhir_base.rstrip("/")
        if self._fhir is None:
            raise RuntimeError("The stack is not started.")
        return self._fhir.base_url

    @property
    def app_url(self) -> str:
        return f"http://{HOST}:{self.app_port}"

    @property
    def launch_url(self) -> str:
        return f"{self.app_url}/launch"

    @property
    def redirect_uri(self) -> str:
        return f"{self.app_url}/launch/callback"

    @property
    def patient_ids(self) -> list[str]:
        return [str(p.patient_id) for p in self.patients]

    @property
    def runtime(self) -> SandboxRuntime:
        if self.sandbox_app is None:
            raise RuntimeError("The stack is not started.")
        return self.sandbox_app.extensions[EXTENSION]

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> SandboxStack:
        self._tmp = tempfile.TemporaryDirectory(prefix="fhir-rehab-sandbox-")
        try:
            if not self._given_fhir_base:
                self._fhir = LocalFhirServer(self._data_dir, port=self._fhir_port).start()
            backing = FhirClient(self.backing_fhir_base, backoff=0.1)
            seed: SeedFunction = self._seed or load_object(APP_SEED)
            self.patients = list(seed(backing))
            registration, app_auth_config = self._app_client(Path(self._tmp.name))
            clients = [registration]
            if self.backend_services:
                backend, backend_config = self._backend_client(Path(self._tmp.name))
                clients.append(backend)
                app_auth_config = {**app_auth_config, **backend_config}
            settings = SandboxSettings(
                self.backing_fhir_base,
                self.sandbox_url,
                app_launch_url=self.launch_url,
                clients=clients,
                auto_approve=self.auto_approve,
                access_token_lifetime=self.access_token_lifetime,
                patient_ids=self.patient_ids,
                cds_services_url=f"{self.app_url}/cds-services" if self.start_app else None,
            )
            self.sandbox_app = create_sandbox_app(settings)
            self.runtime.all_users()  # the sandbox Practitioners, created now, reused later
            self._threads.append(ServerThread(self.sandbox_app, self.ehr_port).start())
            if self.start_app:
                self.app = self._create_app(app_auth_config)
                self._threads.append(ServerThread(self.app, self.app_port).start())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._threads:
            self._threads.pop().stop()
        if self._fhir is not None:
            self._fhir.stop()
            self._fhir = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SandboxStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- clients -------------------------------------------------------------------------
    def register_client(self, registration: ClientRegistration) -> ClientRegistration:
        """Register (or replace) a client with the running sandbox authorization server."""
        self.runtime.store.register_client(registration)
        return registration

    def register_confidential_client(
        self,
        client_id: str,
        *,
        auth_method: str,
        client_secret: str | None = None,
        jwks: dict[str, Any] | None = None,
        jwks_uri: str | None = None,
        redirect_uris: list[str] | None = None,
        scope: str = DEFAULT_ALLOWED_SCOPE,
    ) -> ClientRegistration:
        """A client_secret_basic or private_key_jwt client; by default redirecting to the app
        and, for private_key_jwt without `jwks`, using the app's `/.well-known/jwks.json`."""
        if auth_method == "private_key_jwt" and not (jwks or jwks_uri):
            jwks_uri = f"{self.app_url}/.well-known/jwks.json"
        return self.register_client(
            ClientRegistration(
                client_id,
                redirect_uris or [self.redirect_uri],
                scope=scope,
                auth_method=auth_method,
                client_secret=client_secret,
                jwks=jwks,
                jwks_uri=jwks_uri,
            )
        )

    def _app_client(self, tmp: Path) -> tuple[ClientRegistration, dict[str, Any]]:
        """The fhir-rehab app's registration here, and the matching app settings."""
        if self.client_auth == "client_secret_basic":
            secret = secrets.token_urlsafe(24)
            return (
                ClientRegistration(
                    self.client_id,
                    [self.redirect_uri],
                    self.client_scope,
                    "client_secret_basic",
                    client_secret=secret,
                ),
                {"CLIENT_SECRET": secret},
            )
        if self.client_auth == "private_key_jwt":
            key = RSAKey.generate_key(2048, private=True)
            key_path = tmp / "client-key.pem"
            key_path.write_bytes(key.as_pem(private=True))
            key_path.chmod(0o600)
            jwks = None if self.start_app else {"keys": [key.as_dict(private=False, kid=key.thumbprint())]}
            jwks_uri = f"{self.app_url}/.well-known/jwks.json" if self.start_app else None
            return (
                ClientRegistration(
                    self.client_id,
                    [self.redirect_uri],
                    self.client_scope,
                    "private_key_jwt",
                    jwks=jwks,
                    jwks_uri=jwks_uri,
                ),
                {"CLIENT_PRIVATE_KEY_PATH": str(key_path), "CLIENT_KEY_ID": key.thumbprint()},
            )
        return ClientRegistration(self.client_id, [self.redirect_uri], self.client_scope), {}

    @property
    def backend_client_id(self) -> str:
        return f"{self.client_id}-backend"

    def _backend_client(self, tmp: Path) -> tuple[ClientRegistration, dict[str, Any]]:
        """The app's SMART Backend Services client: an EC P-384 key (ES384) whose public JWK
        the EHR holds, client_credentials only, the hold's system scopes only."""
        key = ECKey.generate_key("P-384", private=True)
        kid = key.thumbprint()
        key_path = tmp / "backend-key.pem"
        key_path.write_bytes(key.as_pem(private=True))
        key_path.chmod(0o600)
        registration = ClientRegistration(
            self.backend_client_id,
            [],
            scope=BACKEND_SCOPE,
            auth_method="private_key_jwt",
            jwks={"keys": [{**key.as_dict(private=False, kid=kid), "alg": "ES384", "use": "sig"}]},
            grant_types=("client_credentials",),
        )
        settings = {
            self.fhir_base: {
                "client_id": self.backend_client_id,
                "private_key_path": str(key_path),
                "alg": "ES384",
                "key_id": kid,
            }
        }
        return registration, {"BACKEND_SERVICES": settings}

    def _create_app(self, auth_config: Mapping[str, Any]) -> Flask:
        assert self._tmp is not None  # noqa: S101 - start() made it
        config = {
            "ISS_ALLOWLIST": [self.fhir_base],
            "DEFAULT_ISS": self.fhir_base,
            "CLIENT_ID": self.client_id,
            "PUBLIC_URL": self.app_url,
            "SECRET_KEY": secrets.token_hex(32),
            "SESSION_DIR": str(Path(self._tmp.name) / "sessions"),
            "WORKLIST_INDEX_DIR": str(Path(self._tmp.name) / "worklist"),
            # The sandbox EHR is the app's one trusted CDS Hooks client: its JWT keys come from its
            # published JWKS, and it may point the service only at its own FHIR base.
            "CDS_TRUSTED_CLIENTS": {
                self.sandbox_url: {
                    "jwks_url": f"{self.sandbox_url}/ehr/cds/jwks",
                    "jku": [f"{self.sandbox_url}/ehr/cds/jwks"],
                    "fhir_servers": [self.fhir_base],
                }
            },
            **auth_config,
            **self._app_config,
        }
        app: Flask = load_object(self._app_factory)(config)
        return app
