"""Run the doctests of the worklist's pure helpers (filters, due offsets, names, scopes)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["fhir_rehab.resources.worklist", "fhir_rehab.web.coordinator",
           "fhir_rehab.sandbox.auth.users"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
