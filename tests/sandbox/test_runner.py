"""SandboxStack and the sandbox command: start, wire the app, register clients, stop."""

from __future__ import annotations

import argparse
import io
import threading
from pathlib import Path

import pytest
import requests

from ehr_sandbox import command
from ehr_sandbox.errors import ConfigurationError
from ehr_sandbox.fhir_server import LocalFhirServer
from ehr_sandbox.runner import APP_FACTORY, APP_SEED, SandboxStack, load_object
from fhir_rehab import cli
from tests.sandbox.conftest import Seeded


@pytest.mark.parametrize("client_auth", ["none", "client_secret_basic", "private_key_jwt"])
def test_stack_wires_the_app_to_the_sandbox(
    fhir_server: LocalFhirServer, seeded: Seeded, client_auth: str
) -> None:
    with SandboxStack(
        fhir_base=fhir_server.base_url, seed=lambda client: [seeded], client_auth=client_auth
    ) as stack:
        assert stack.app is not None
        config = stack.app.config
        assert config["ISS_ALLOWLIST"] == [stack.fhir_base]
        assert config["CLIENT_ID"] == "fhir-rehab" and config["PUBLIC_URL"] == stack.app_url
        assert Path(config["SESSION_DIR"]).parent.name.startswith("fhir-rehab-sandbox-")
        registration = stack.runtime.store.get_client("fhir-rehab").registration
        assert registration.redirect_uris == [f"{stack.app_url}/launch/callback"]
        assert registration.auth_method == client_auth
        if client_auth == "client_secret_basic":
            assert config["CLIENT_SECRET"] == registration.client_secret
        if client_auth == "private_key_jwt":
            assert Path(config["CLIENT_PRIVATE_KEY_PATH"]).is_file()
            assert registration.jwks_uri == f"{stack.app_url}/.well-known/jwks.json"
        assert stack.patient_ids == [seeded.patient_a]
        assert stack.runtime.settings.app_launch_url == f"{stack.app_url}/launch"
        assert requests.get(stack.ehr_url, timeout=10).status_code == 200
        requests.get(stack.app_url, timeout=10)  # the app answers (any status)
        ehr_url, app_url = stack.ehr_url, stack.app_url
    for url in (ehr_url, app_url):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)


def test_register_confidential_client_defaults_to_the_app(stack: SandboxStack) -> None:
    registration = stack.register_confidential_client("extra-jwt", auth_method="private_key_jwt")
    assert registration.jwks_uri == f"{stack.app_url}/.well-known/jwks.json"
    assert registration.redirect_uris == [f"{stack.app_url}/launch/callback"]
    assert stack.runtime.store.get_client("extra-jwt") is not None


def test_the_sandbox_reaches_the_app_through_its_public_names() -> None:
    import fhir_rehab
    from fhir_rehab.services import seed

    assert load_object(APP_FACTORY) is fhir_rehab.create_app
    assert load_object(APP_SEED) is seed.seed_demo_patients
    with pytest.raises(ConfigurationError, match="package.module:name"):
        load_object("fhir_rehab.create_app")


def test_the_cli_hands_the_sandbox_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(command, "run", lambda args: seen.append(args) or 0)
    assert cli.main(["sandbox", "--auto-approve", "--port", "8123", "--data-dir", str(tmp_path)]) == 0
    assert seen[0].auto_approve and seen[0].port == 8123 and seen[0].data_dir == tmp_path
    assert cli.main(["sandbox", "--help"]) == 0
    assert "usage: fhir-rehab sandbox" in capsys.readouterr().out
    assert cli.main(["sandbox", "--bogus"]) == 2 and len(seen) == 1
    assert cli.main(["seed", "--fhir-base", "http://x", "--bogus"]) == 2  # others still refuse


def test_command_starts_prints_and_stops(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["--auto-approve", "--data-dir", str(tmp_path / "data")])
    assert args.auto_approve and args.port is None
    stop = threading.Event()
    stop.set()  # already "Ctrl-C'd": run starts everything, prints, and shuts down
    out = io.StringIO()
    assert command.run(args, stop=stop, out=out) == 0
    text = out.getvalue()
    assert "Sandbox EHR:  http://127.0.0.1:" in text and "/fhir" in text
    assert (tmp_path / "data" / "sekmet-settings.yaml").is_file()
    ehr_url = text.split("Sandbox EHR:  ")[1].split()[0]
    with pytest.raises(requests.ConnectionError):
        requests.get(ehr_url, timeout=5)
