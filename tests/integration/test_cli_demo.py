"""`fhir-rehab demo`: its own local server, seed, screen, start, show."""

import json

from fhir_rehab.cli import main


def test_demo_runs_the_program_end_to_end(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "eligible by ICD-10-CM M54.41" in out
    assert "Program started: CarePlan/" in out
    state = json.loads(out[out.rindex("== program state") + len("== program state") :])
    assert state["currentStage"] == 1
    assert [s["status"] for s in state["stages"]][:2] == ["ready", "draft"]
