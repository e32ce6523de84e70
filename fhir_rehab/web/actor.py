"""Who is acting: the launch's fhirUser with a readable name, for Provenance and the pages."""

from __future__ import annotations

from flask import session

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.worklist import patient_name

USER_KEY = "acting_user"  # fhirUser -> display name, cached in the server-side session


def actor_for_launch(launch: LaunchContext, client: FhirClient) -> Actor:
    """The signed-in user, their name read once per session (when the scopes allow)."""
    cached = session.get(USER_KEY)
    if isinstance(cached, dict) and cached.get("ref") == launch.fhir_user:
        return Actor(launch.fhir_user, str(cached["name"]))
    name = launch.fhir_user or "fhir-rehab user"
    if launch.fhir_user and launch.fhir_user.startswith("Practitioner/"):
        try:
            name = patient_name(client.read("Practitioner", launch.fhir_user.split("/", 1)[1])) or name
        except FhirError:
            pass  # not readable with these scopes: the reference names the user well enough
    session[USER_KEY] = {"ref": launch.fhir_user, "name": name}
    return Actor(launch.fhir_user, name)
