"""CLI exit codes when the FHIR server fails (faked at the transport: a real one won't on demand)."""

import json

import pytest
import requests
import responses

from fhir_rehab.cli import main

BASE = "https://ehr.example.org/fhir"


@pytest.mark.parametrize(
    "body",
    [
        {
            "json": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "fatal", "code": "exception", "diagnostics": "db down"}],
            },
            "status": 500,
        },
        {"body": requests.ConnectTimeout("timed out")},
        {"body": requests.ConnectionError("refused")},
    ],
)
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


@pytest.mark.parametrize(
    "status,code", [("403 Forbidden", 4), ("401 Unauthorized", 4), ("500 Internal Server Error", 4)]
)
@responses.activate
def test_a_failed_batch_entry_becomes_its_own_error(capsys, status, code):
    """HAPI answers a batch 200 with per-entry statuses: each maps like a plain response."""
    entries = [
        {"resource": {"resourceType": "Patient", "id": "p1"}, "response": {"status": "200 OK"}},
        {
            "response": {
                "status": status,
                "outcome": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "not in scope"}],
                },
            }
        },
    ]
    responses.add(
        responses.POST, BASE, json={"resourceType": "Bundle", "type": "batch-response", "entry": entries}
    )
    assert main(["show", "--fhir-base", BASE, "--patient", "p1", "--json"]) == code
    out = json.loads(capsys.readouterr().out)
    assert f"HTTP {status.split()[0]}" in out["error"] and "not in scope" in out["error"]
    assert "/fhir/CarePlan" in out["error"]  # the failed entry is named


@responses.activate
def test_a_forbidden_batch_entry_is_fhir_forbidden():
    from fhir_rehab.fhir.client import FhirClient
    from fhir_rehab.fhir.errors import FhirForbidden
    from fhir_rehab.services.record import read_patient_record

    responses.add(
        responses.POST,
        BASE,
        json={
            "resourceType": "Bundle",
            "type": "batch-response",
            "entry": [
                {"resource": {"resourceType": "Patient", "id": "p1"}, "response": {"status": "200 OK"}},
                {"response": {"status": "403"}},
            ],
        },
    )
    with pytest.raises(FhirForbidden) as info:
        read_patient_record(FhirClient(BASE), "p1")
    assert info.value.status == 403
