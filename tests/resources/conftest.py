import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def program_bundle():
    """A program after stage 1, as the local server returned it (tests/data)."""
    return json.loads((DATA / "program-after-stage-1.json").read_text())
