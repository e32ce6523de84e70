"""The sandbox's pure rules: tables for scopes and request classification (doctests run with
`--doctest-modules`)."""

from __future__ import annotations

import pytest

from ehr_sandbox.auth.access import (
    authorize_interaction,
    check_resource,
    classify_entry,
    classify_request,
)
from ehr_sandbox.auth.scopes import Access, is_covered, parse_resource_scope
from ehr_sandbox.errors import AccessDenied, UnsupportedRequest


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("patient/Condition.rs", ("patient", "Condition", "rs")),
        ("patient/CarePlan.cruds", ("patient", "CarePlan", "cruds")),
        ("user/Task.rs", ("user", "Task", "rs")),
        ("patient/Condition.read", ("patient", "Condition", "rs")),
        ("patient/*.write", ("patient", "*", "cud")),
        ("user/Task.write", ("user", "Task", "cud")),
        ("system/*.*", ("system", "*", "cruds")),
        ("patient/Condition.sr", None),
        ("patient/Condition.x", None),
        ("patient/condition.rs", None),
        ("patient/Condition.", None),
        ("practitioner/Task.rs", None),
        ("launch/patient", None),
    ],
)
def test_parse_resource_scope(scope: str, expected: tuple[str, str, str] | None) -> None:
    parsed = parse_resource_scope(scope)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (
            parsed.context,
            parsed.resource_type,
            "".join(i for i in "cruds" if i in parsed.interactions),
        ) == expected


@pytest.mark.parametrize(
    ("scope", "allowed", "covered"),
    [
        ("patient/*.read", ["patient/*.cruds"], True),
        ("patient/*.*", ["patient/*.rs"], False),
        ("user/Task.cu", ["user/Task.write"], True),
        ("offline_access", ["online_access"], False),
    ],
)
def test_is_covered(scope: str, allowed: list[str], covered: bool) -> None:
    assert is_covered(scope, allowed) is covered


@pytest.mark.parametrize(
    ("method", "path", "kind", "rtype", "rid"),
    [
        ("GET", "Condition", "s", "Condition", None),
        ("POST", "Condition/_search", "s", "Condition", None),
        ("POST", "Task", "c", "Task", None),
        ("PUT", "Task/1", "u", "Task", "1"),
        ("PATCH", "Task/1", "u", "Task", "1"),
        ("DELETE", "Task/1", "d", "Task", "1"),
        ("GET", "Task/1/_history/2", "r", "Task", "1"),
        ("HEAD", "Task/1", "r", "Task", "1"),
        ("PUT", "Task", "u", "Task", None),
        ("GET", "Patient/1/$everything", "r", "Patient", "1"),
    ],
)
def test_classify_request(method: str, path: str, kind: str, rtype: str, rid: str | None) -> None:
    interaction = classify_request(method, path)
    assert (interaction.kind, interaction.resource_type, interaction.resource_id) == (kind, rtype, rid)


@pytest.mark.parametrize("path", ["foo", "Task/1/2/3/4", "_history/x"])
def test_unclassifiable_requests_are_refused(path: str) -> None:
    with pytest.raises(UnsupportedRequest):
        classify_request("GET", path)


def test_bundle_entries_outside_the_base_are_refused() -> None:
    with pytest.raises(AccessDenied):
        classify_entry({"request": {"method": "GET", "url": "http://other/fhir/Task"}}, "http://x/fhir")


@pytest.mark.parametrize(
    ("scopes", "access"),
    [
        (["patient/Task.rs"], Access.PATIENT),
        (["user/Task.rs"], Access.ALL),
        (["patient/*.rs", "user/Task.read"], Access.ALL),
    ],
)
def test_access_levels(scopes: list[str], access: Access) -> None:
    interaction = classify_request("GET", "Task", [("patient", "p1")])
    assert authorize_interaction(interaction, scopes, "p1") is access


def test_patient_scopes_without_a_patient_in_context_reach_nothing() -> None:
    with pytest.raises(AccessDenied):
        authorize_interaction(classify_request("GET", "Task", [("patient", "p1")]), ["patient/Task.rs"], None)


@pytest.mark.parametrize("reference", ["Patient/p2", "http://x/fhir/Patient/p2", "Patient?identifier=a|b"])
def test_resources_of_another_or_unresolved_patient_are_refused(reference: str) -> None:
    with pytest.raises(AccessDenied):
        check_resource({"resourceType": "Task", "for": {"reference": reference}}, "p1")
