"""CLI exit codes when the FHIR server fails (faked at the transport: a real one won't on demand)."""

import json

import pytest
import requests
import responses

from fhir_rehab.cli import main

BASE = "https://ehr.example.org/fhir"


@pytest.mark.parametrize("body", [
    {"json": {"resourceType": "OperationOutcome",
              "issue": [{"severity": "fatal", "code": "exception", "diagnostics": "db down"}]},
     "status": 500},
    {"body": requests.ConnectTimeout("timed out")},
    {"body": requests.ConnectionError("refused")},
])
@responses.activate
def test_fhir_server_failing_exits_4(capsys, body):
    responses.add(responses.POST, BASE, **body)
    code = main(["show", "--fhir-base", BASE, "--patient", "p1", "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 4
    assert out["error"].startswith("FHIR server error")
    assert "fhir-rehab: FHIR server error" in captured.err


def test_usage_error_exits_2(capsys):
    assert main(["screen", "--patient", "p1"]) == 2
    assert main(["nonsense"]) == 2


def test_unknown_red_flag_key_is_a_usage_error(capsys):
    assert main(["screen", "--fhir-base", BASE, "--patient", "p", "--present", "headache"]) == 2
