"""The app's own code systems as CodeSystem and ValueSet resources, so other systems can resolve them.

Codes without a verified SNOMED CT or LOINC code live in code systems the app owns (DESIGN.md
"Verified codes"): a terminology server, or an EHR reading the record without the app, can look
them up only if they are published. Each code system is built from the codes in
`fhir_rehab.codes` (one fact, one place), with one ValueSet that includes all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_rehab import codes as c
from fhir_rehab.resources.wire import Resource


@dataclass(frozen=True)
class OwnedSystem:
    """A code system the app owns: its canonical URL and how to name it."""

    url: str
    name: str
    title: str
    description: str


# Add a code system here and `publish` writes it (with its ValueSet) from then on.
OWNED_SYSTEMS = (
    OwnedSystem(
        c.APP_CODES,
        "SciaticaRehab",
        "fhir-rehab sciatica program codes",
        "Red flags, tasks and exercise kinds of the fhir-rehab sciatica program that have no "
        "verified SNOMED CT or LOINC code.",
    ),
    OwnedSystem(
        c.BUSINESS_STATUS,
        "StageBusinessStatus",
        "fhir-rehab stage business status",
        "Where a stage of the sciatica program stands (Task.businessStatus).",
    ),
)


def codes_of(system: str) -> list[c.Code]:
    """Every code of `system` defined in fhir_rehab.codes, in definition order, once each."""
    seen: dict[str, c.Code] = {}
    for value in vars(c).values():
        if isinstance(value, c.Code) and value.system == system:
            seen.setdefault(value.code, value)
    return list(seen.values())


def _tail(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def build_code_system(owned: OwnedSystem, version: str, publisher: str) -> Resource:
    concepts = codes_of(owned.url)
    return {
        "resourceType": "CodeSystem",
        "url": owned.url,
        "version": version,
        "name": owned.name,
        "title": owned.title,
        "status": "active",
        "publisher": publisher,
        "description": owned.description,
        "caseSensitive": True,
        "valueSet": f"{c.CANONICAL_BASE}/ValueSet/{_tail(owned.url)}",
        "content": "complete",
        "count": len(concepts),
        "concept": [{"code": code.code, "display": code.display} for code in concepts],
    }


def build_value_set(owned: OwnedSystem, version: str, publisher: str) -> Resource:
    return {
        "resourceType": "ValueSet",
        "url": f"{c.CANONICAL_BASE}/ValueSet/{_tail(owned.url)}",
        "version": version,
        "name": f"{owned.name}Codes",
        "title": f"All {owned.title}",
        "status": "active",
        "publisher": publisher,
        "description": f"Every code of {owned.url}.",
        "compose": {"include": [{"system": owned.url, "version": version}]},
    }


def build_terminology(version: str, publisher: str) -> list[Resource]:
    """A CodeSystem and its ValueSet for every code system the app owns."""
    out = []
    for owned in OWNED_SYSTEMS:
        out += [build_code_system(owned, version, publisher), build_value_set(owned, version, publisher)]
    return out
