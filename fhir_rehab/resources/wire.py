"""Resources on the wire: validate through fhir.resources R4B models, references, codings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from fhir_rehab.codes import Code
from fhir_rehab.resources.errors import InvalidResource

Resource = dict[str, Any]


@cache
def _model_class(resource_type: str) -> Any:
    """The R4B model class, imported on first use (fhir.resources and pydantic cost about half
    a second to import: commands and pages that write nothing never pay it) and kept."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


# The resource types the app writes on every workflow (others load on first use).
WRITTEN_TYPES = ("CarePlan", "Task", "Goal", "Observation", "Provenance")


def load_models(types: tuple[str, ...] = WRITTEN_TYPES) -> None:
    """Load the model classes now, once: `fhir-rehab serve` does it in the gunicorn master
    before forking, so no worker pays it on its first request."""
    for resource_type in types:
        _model_class(resource_type)


_MODEL_CHECK = {"on": True}


@contextmanager
def model_check(enabled: bool) -> Iterator[None]:
    """Validate what is written through the R4B models (`to_wire`), or not, within the block.

    On by default, and in the web app (`serve` loads the models once, before its workers fork).
    A one-shot CLI command turns it off: building the model classes costs more than half a
    second of a command that takes about one. The builders are the same either way, and the
    tests check everything they write against the official R4 JSON Schema, both ways
    (tests/integration/test_conformance.py).
    """
    before = _MODEL_CHECK["on"]
    _MODEL_CHECK["on"] = enabled
    try:
        yield
    finally:
        _MODEL_CHECK["on"] = before


def to_wire(resource: Resource) -> Resource:
    """Validate a resource through its R4B model and return its FHIR JSON form (without the
    model check: the same resource with empty elements dropped, as the model's dump does)."""
    if not _MODEL_CHECK["on"]:
        return _pruned(resource)
    from pydantic import ValidationError  # loaded with the models, by then

    model_class = _model_class(resource["resourceType"])
    try:
        model = model_class.model_validate(resource)
    except ValidationError as exc:
        raise InvalidResource(
            f"{resource['resourceType']} failed R4 model validation: "
            f"{exc.error_count()} error(s): {exc.errors()[0]['msg']}"
        ) from None
    return json.loads(model.model_dump_json(exclude_none=True))


def _pruned(value: Any) -> Any:
    """A JSON copy without None, empty arrays and empty objects (FHIR JSON has none).

    >>> _pruned({"a": None, "b": [], "c": {"d": None}, "e": [{"f": 1}, {}], "g": 0})
    {'e': [{'f': 1}], 'g': 0}
    """
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        items = [_pruned(v) for v in value]
        return [v for v in items if v is not None and v != [] and v != {}]
    return value


def parse_model(resource: Resource) -> Any:
    """A resource from the server as its R4B model (raises InvalidResource)."""
    from pydantic import ValidationError

    try:
        return _model_class(resource["resourceType"]).model_validate(resource)
    except (ValidationError, KeyError) as exc:
        raise InvalidResource(
            f"unreadable {resource.get('resourceType', 'resource')}: {type(exc).__name__}"
        ) from None


Shape = dict[str, Any]


def check_shape(resource: Resource, shape: Shape) -> None:
    """Check the JSON types of the elements a parser reads (a cheap edge check on what the
    server sent, without building models): `shape` maps an element to its type, to a nested
    shape, or to a one-item list (an array of that). Absent elements pass; others are refused
    with InvalidResource.

    >>> check_shape({"code": {"coding": [{"code": "x"}]}}, {"code": {"coding": [{"code": str}]}})
    >>> check_shape({"code": {"coding": {"code": "x"}}}, {"code": {"coding": [{"code": str}]}})
    Traceback (most recent call last):
    ...
    fhir_rehab.resources.errors.InvalidResource: unreadable resource: code.coding is not an array
    """
    problem = _shape_problem(resource, shape, "")
    if problem:
        kind = resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else "resource"
        raise InvalidResource(f"unreadable {kind}: {problem}")


def _shape_problem(value: Any, shape: Any, path: str) -> str | None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{path or 'the resource'} is not an object"
        for key, inner in shape.items():
            if key in value:
                found = _shape_problem(value[key], inner, f"{path}.{key}" if path else key)
                if found:
                    return found
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{path} is not an array"
        return next((p for p in (_shape_problem(v, shape[0], path) for v in value) if p), None)
    return None if isinstance(value, shape) else f"{path} is not a {shape.__name__}"


def coding(code: Code) -> dict[str, str]:
    return code.as_coding()


def concept(code: Code, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding (and text, defaulting to the display)."""
    return {"coding": [code.as_coding()], "text": text or code.display}


def ref(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, str]:
    out = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        out["display"] = display
    return out


def ref_id(reference: dict[str, Any] | None, resource_type: str) -> str | None:
    """`{"reference": "Patient/1"}` -> `1` (also absolute and versioned references).

    >>> ref_id({"reference": "http://x/fhir/Patient/1/_history/2"}, "Patient")
    '1'
    >>> ref_id({"reference": "Goal/1"}, "Patient") is None
    True
    """
    value = (reference or {}).get("reference") or ""
    parts = value.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    return None


def new_urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def fhir_instant(when: datetime) -> str:
    """An R4 instant/dateTime in UTC with millisecond precision (orders quick successive writes).

    >>> fhir_instant(datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC))
    '2026-01-02T03:04:05.600+00:00'
    """
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_instant(value: str | None) -> datetime | None:
    """Parse an R4 dateTime/instant (a bare date counts as midnight UTC)."""
    if not value:
        return None
    if len(value) == 10:
        value += "T00:00:00+00:00"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def version_of(resource: Resource) -> str | None:
    """The resource's `meta.versionId` (what If-Match needs)."""
    return (resource.get("meta") or {}).get("versionId")


def tag_of(resource: Resource, system: str) -> str | None:
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if tag.get("system") == system:
            return tag.get("code")
    return None


def identifier_value(resource: Resource, system: str) -> str | None:
    for ident in resource.get("identifier") or []:
        if ident.get("system") == system:
            return ident.get("value")
    return None


def codes_of(concept_value: dict[str, Any] | None) -> set[tuple[str, str]]:
    return {(c.get("system", ""), c.get("code", "")) for c in (concept_value or {}).get("coding") or []}
