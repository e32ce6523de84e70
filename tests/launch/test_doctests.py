"""Run the doctests of the launch modules (pure helpers: scopes, settings, parsing)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["fhir_rehab.launch.scopes", "fhir_rehab.launch.settings",
           "fhir_rehab.launch.discovery", "fhir_rehab.launch.oauth",
           "fhir_rehab.launch.idtoken", "fhir_rehab.launch.authorize",
           "fhir_rehab.web.errors"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
