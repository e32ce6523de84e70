import json

import pytest

from fhir_rehab.cli import main
from fhir_rehab.services.seed import seed_demo_patients
from tests.support import profiles

# Run this suite against both FHIR server profiles (plain and HAPI-like strict).
fhir_profile = profiles.fhir_profile
fhir_server = profiles.fhir_server


@pytest.fixture
def seeded(fhir, run_tag):
    """The four synthetic patients, fresh for this test (run tag in their identifiers)."""
    return {s.key: s for s in seed_demo_patients(fhir, run=run_tag)}


@pytest.fixture
def cli(fhir_server, capsys):
    """Run `fhir-rehab ... --json` in-process; returns (exit code, parsed stdout)."""

    def run(*argv):
        capsys.readouterr()
        code = main([*argv, "--fhir-base", fhir_server.base_url, "--json"])
        out = capsys.readouterr().out
        return code, json.loads(out)

    return run
