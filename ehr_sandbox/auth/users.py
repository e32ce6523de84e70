"""The sandbox EHR's users: Practitioners in the backing FHIR server, created once and reused."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_rehab.fhir.client import FhirClient

# Under the app's canonical base (fhir_rehab.codes.CANONICAL_BASE): an identifier we own.
USER_IDENTIFIER_SYSTEM = "https://fhir-rehab.org/fhir/identifier/sandbox-user"
USER_IDENTIFIER_VALUE = "sandbox-practitioner"
# The session's user key for a patient signed in at the patient portal: "patient:<Patient id>".
PATIENT_USER_PREFIX = "patient:"


@dataclass(frozen=True)
class UserSpec:
    """A sandbox user: a key (for `user=` and the sign-in picker) and a name."""

    key: str
    given: str
    family: str

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


# The first is who signs in unless a user is picked; three, so two coordinators can race.
USERS = (
    UserSpec(USER_IDENTIFIER_VALUE, "Sandbox", "Practitioner"),
    UserSpec("coordinator-robin", "Robin", "Reyes"),
    UserSpec("coordinator-dana", "Dana", "Okoye"),
)


def find_user(key: str | None) -> UserSpec:
    """The user with this key; anything unknown is the default user.

    >>> find_user("coordinator-dana").name, find_user("nobody").name
    ('Dana Okoye', 'Sandbox Practitioner')
    """
    return next((u for u in USERS if u.key == key), USERS[0])


def build_practitioner(key: str = USER_IDENTIFIER_VALUE) -> dict[str, object]:
    """A sandbox user as an R4 Practitioner."""
    user = find_user(key)
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": USER_IDENTIFIER_SYSTEM, "value": user.key}],
        "active": True,
        "name": [{"use": "official", "family": user.family, "given": [user.given], "text": user.name}],
    }


def ensure_practitioner(client: FhirClient, key: str = USER_IDENTIFIER_VALUE) -> str:
    """The id of a sandbox Practitioner; found by identifier, else created (conditionally)."""
    criteria = f"{USER_IDENTIFIER_SYSTEM}|{find_user(key).key}"
    found = client.search("Practitioner", {"identifier": criteria, "_count": "1"})
    for entry in found.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Practitioner" and resource.get("id"):
            return str(resource["id"])
    created = client.create(build_practitioner(key), if_none_exist=f"identifier={criteria}")
    if created.body and created.body.get("id"):
        return str(created.body["id"])
    location = created.location or ""
    return location.split("Practitioner/")[1].split("/")[0]
