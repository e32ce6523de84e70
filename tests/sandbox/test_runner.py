"""SandboxStack and the sandbox command: start, wire the app, register clients, stop."""

from __future__ import annotations

import argparse
import io
import sys
import threading
from pathlib import Path

import pytest
import requests

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.sandbox import command
from fhir_rehab.sandbox.fhir_server import LocalFhirServer
from fhir_rehab.sandbox.runner import (
    SEED_IDENTIFIER,
    SandboxStack,
    seed_fallback_patients,
    seed_patients,
)
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


def test_fallback_seed_creates_two_patients_once(fhir: FhirClient) -> None:
    try:
        first = seed_fallback_patients(fhir)
        again = seed_fallback_patients(fhir)
        assert len(first) == 2 and [p.patient_id for p in first] == [p.patient_id for p in again]
        assert fhir.read("Patient", first[0].patient_id)["identifier"][0]["system"] == SEED_IDENTIFIER
    finally:
        for patient in fhir.search_all("Patient", {"identifier": f"{SEED_IDENTIFIER}|"}):
            if patient["identifier"][0]["value"].startswith("sandbox-"):
                fhir.delete("Patient", patient["id"])


def test_default_seed_falls_back_without_the_seed_service(
    fhir: FhirClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setitem(sys.modules, "fhir_rehab.services.seed", None)  # import fails
    monkeypatch.setattr(
        "fhir_rehab.sandbox.runner.seed_fallback_patients", lambda client: calls.append(client) or ["seeded"]
    )
    assert seed_patients(fhir) == ["seeded"] and calls == [fhir]


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
