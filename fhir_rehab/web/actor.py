"""Who is acting: the launch's fhirUser with a readable name, for Provenance and the pages."""

from __future__ import annotations

from flask import session

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.people import verified_actor

USER_KEY = "acting_user"  # fhirUser -> display name, cached in the server-side session


def actor_for_launch(launch: LaunchContext, client: FhirClient) -> Actor:
    """The signed-in user, their name read once per session (when the scopes allow)."""
    cached = session.get(USER_KEY)
    if isinstance(cached, dict) and cached.get("fhir_user") == launch.fhir_user:
        return Actor(cached.get("ref"), str(cached["name"]))
    # Read by id once: a fhirUser the server does not have (or this token cannot read) is
    # written by name only, never as a reference HAPI would refuse.
    actor = verified_actor(client, launch.fhir_user, "fhir-rehab user")
    session[USER_KEY] = {"fhir_user": launch.fhir_user, "ref": actor.reference, "name": actor.display}
    return actor
