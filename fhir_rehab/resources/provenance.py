"""Provenance for every write: who (fhirUser), when, through which app, on whose behalf."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fhir_rehab import codes as c
from fhir_rehab.resources.wire import Resource, concept, fhir_instant

APP_DISPLAY = "fhir-rehab"


@dataclass(frozen=True)
class Actor:
    """The user behind a write: their fhirUser reference (if known) and a display name."""

    reference: str | None = None  # e.g. "Practitioner/123"
    display: str = "fhir-rehab user"

    def as_reference(self) -> dict[str, str]:
        out = {"display": self.display}
        if self.reference:
            out["reference"] = self.reference
        return out


def build_provenance(
    targets: Sequence[str], actor: Actor, when: datetime, *, activity: c.Code, write_key: str
) -> Resource:
    """The user is the author; the app is the enterer acting on the user's behalf.

    `write_key` goes into meta.tag so a retried transaction can create it conditionally.
    """
    agents = [
        {"type": concept(c.PARTICIPANT_AUTHOR), "who": actor.as_reference()},
        {
            "type": concept(c.PARTICIPANT_ENTERER),
            "who": {"display": APP_DISPLAY},
            "onBehalfOf": actor.as_reference(),
        },
    ]
    return _provenance(targets, when, activity, write_key, agents)


def build_service_provenance(
    targets: Sequence[str],
    client_id: str,
    on_behalf_of: Actor,
    source: str,
    when: datetime,
    *,
    activity: c.Code,
    write_key: str,
) -> Resource:
    """A write the app made as itself (its SMART Backend Services client, a logical Device
    reference by client id), on behalf of the person whose report caused it (`on_behalf_of`),
    with that report as the source entity (for example the patient's self-check)."""
    app = {
        "type": "Device",
        "identifier": {"system": c.OAUTH_CLIENT_IDENTIFIER, "value": client_id},
        "display": f"{APP_DISPLAY} (automatic, on the patient's report)",
    }
    agents = [{"type": concept(c.PARTICIPANT_AUTHOR), "who": app, "onBehalfOf": on_behalf_of.as_reference()}]
    return {
        **_provenance(targets, when, activity, write_key, agents),
        "entity": [{"role": "source", "what": {"reference": source}}],
    }


def provenance_criteria(write_key: str) -> str:
    return f"_tag={c.WRITE_TAG}|{write_key}"


def _provenance(
    targets: Sequence[str], when: datetime, activity: c.Code, write_key: str, agents: list[Resource]
) -> Resource:
    """What every Provenance the app writes carries; `write_key` in meta.tag lets a retried
    transaction create it conditionally."""
    return {
        "resourceType": "Provenance",
        "meta": {"tag": [{"system": c.WRITE_TAG, "code": write_key}]},
        "target": [{"reference": t} for t in targets],
        "recorded": fhir_instant(when),
        "activity": concept(activity),
        "agent": agents,
    }
