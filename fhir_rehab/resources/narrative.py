"""Generated narrative (`Resource.text`): what an EHR shows of a resource without the app.

R4 DomainResource.text (narrative.html): `status` "generated" means the narrative is produced
entirely from the structured data, so it is rebuilt from the resource every time the app writes
it (Transaction.bundle) and never goes stale after a status change. Plain words only: statuses
are spelled out for people, codes are shown by their display text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from fhir_rehab.resources.wire import Resource

XHTML = "http://www.w3.org/1999/xhtml"
_WORDS = {
    "draft": "not started yet",
    "ready": "ready to start",
    "in-progress": "under way",
    "on-hold": "on hold",
    "completed": "completed",
    "cancelled": "cancelled",
    "revoked": "stopped",
    "requested": "requested",
    "accepted": "accepted",
    "active": "active",
    "planned": "planned",
    "final": "final",
    "amended": "amended",
    "entered-in-error": "entered in error",
}


def words(status: Any) -> str:
    """A status code in plain words.

    >>> words("in-progress"), words("revoked"), words("odd-one")
    ('under way', 'stopped', 'odd one')
    """
    return _WORDS.get(str(status), str(status).replace("-", " "))


def concept_text(value: Any) -> str:
    """A CodeableConcept's text, else its first coding's display, else ''."""
    if not isinstance(value, dict):
        return ""
    if value.get("text"):
        return str(value["text"])
    for coding in value.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    return ""


def build_narrative(lines: Iterable[tuple[str, str]]) -> Resource:
    """`text` with a generated XHTML div of `label: value` lines (values escaped).

    >>> build_narrative([("Status", "on hold"), ("Reason", "a <b>")])["div"][42:]
    '<p><b>Status</b>: on hold</p><p><b>Reason</b>: a &lt;b&gt;</p></div>'
    """
    body = "".join(
        f"<p><b>{html.escape(label)}</b>: {html.escape(value)}</p>" for label, value in lines if value
    )
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body or "<p>(no details)</p>"}</div>'}


def _period(value: Any) -> str:
    period = value if isinstance(value, dict) else {}
    start, end = str(period.get("start", ""))[:10], str(period.get("end", ""))[:10]
    return f"{start} to {end}" if start and end else f"from {start}" if start else ""


def _value(obs: Resource) -> str:
    if "valueInteger" in obs:
        return str(obs["valueInteger"])
    quantity = obs.get("valueQuantity") or {}
    if "value" in quantity:
        return f"{quantity['value']} {quantity.get('unit', '')}".strip()
    return concept_text(obs.get("valueCodeableConcept")) or str(obs.get("valueString", ""))


def _lines(resource: Resource) -> list[tuple[str, str]]:
    kind = resource.get("resourceType")
    if kind == "CarePlan":
        return [
            ("Care plan", str(resource.get("title", ""))),
            ("Status", words(resource.get("status"))),
            ("Category", ", ".join(concept_text(x) for x in resource.get("category") or [])),
            ("Period", _period(resource.get("period"))),
            ("Stages", str(len(resource.get("activity") or [])) if resource.get("activity") else ""),
            ("About", str(resource.get("description", ""))),
        ]
    if kind == "Task":
        return [
            ("Task", concept_text(resource.get("code")) or str(resource.get("description", ""))),
            ("Status", words(resource.get("status"))),
            ("Progress", concept_text(resource.get("businessStatus"))),
            ("Why", concept_text(resource.get("statusReason"))),
            ("Priority", words(resource.get("priority", ""))),
            ("Planned", _period((resource.get("restriction") or {}).get("period"))),
            ("Done", _period(resource.get("executionPeriod"))),
            ("Owner", str((resource.get("owner") or {}).get("display", ""))),
            ("Details", str(resource.get("description", ""))),
        ]
    if kind == "Goal":
        return [
            ("Goal", concept_text(resource.get("description"))),
            ("Status", words(resource.get("lifecycleStatus"))),
            ("Achievement", concept_text(resource.get("achievementStatus"))),
            ("Since", str(resource.get("startDate", ""))),
        ]
    if kind == "Observation":
        return [
            ("Observation", concept_text(resource.get("code"))),
            ("Value", _value(resource)),
            ("When", str(resource.get("effectiveDateTime", ""))[:16].replace("T", " ")),
            ("Status", words(resource.get("status"))),
            ("Interpretation", ", ".join(concept_text(x) for x in resource.get("interpretation") or [])),
        ]
    return [
        (str(kind), str(resource.get("title") or resource.get("name") or resource.get("url") or "")),
        ("Status", words(resource.get("status", "")) if resource.get("status") else ""),
        ("About", str(resource.get("description", ""))),
    ]


# What the app writes and an EHR shows (the clinical resources) or a reader browses (definitions).
NARRATED = frozenset(
    {"CarePlan", "Task", "Goal", "Observation"}
    | {"PlanDefinition", "ActivityDefinition", "CodeSystem", "ValueSet", "Questionnaire"}
)


def with_narrative(resource: Resource) -> Resource:
    """A copy of `resource` with its generated narrative; other types, and resources carrying a
    narrative someone wrote by hand (status other than generated), are left as they are."""
    kind = resource.get("resourceType")
    if kind not in NARRATED or (resource.get("text") or {}).get("status") not in (None, "generated"):
        return resource
    return {**resource, "text": build_narrative(_lines(resource))}
