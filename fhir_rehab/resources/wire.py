"""Resources on the wire: validate through fhir.resources R4B models, references, codings."""

from __future__ import annotations

import json
import uuid
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


def to_wire(resource: Resource) -> Resource:
    """Validate a resource through its R4B model and return its FHIR JSON form."""
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


def parse_model(resource: Resource) -> Any:
    """A resource from the server as its R4B model (raises InvalidResource)."""
    from pydantic import ValidationError

    try:
        return _model_class(resource["resourceType"]).model_validate(resource)
    except (ValidationError, KeyError) as exc:
        raise InvalidResource(
            f"unreadable {resource.get('resourceType', 'resource')}: {type(exc).__name__}"
        ) from None


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
