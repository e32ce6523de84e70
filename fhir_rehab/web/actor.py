"""Who is acting: the launch's fhirUser with a readable name, for Provenance and the pages."""

from __future__ import annotations

from flask import session

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.errors import NoUserIdentity
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.people import verified_actor

USER_KEY = "acting_user"  # fhirUser -> display name, cached in the server-side session
UNNAMED = "the signed-in user"


def actor_for_launch(launch: LaunchContext, client: FhirClient, *, for_write: bool = False) -> Actor:
    """The signed-in user, their name read once per session (when the scopes allow).

    `for_write`: the caller is about to write something whose author must be recorded; a
    launch without a user identity is refused (NoUserIdentity) rather than writing an author
    that names nobody.
    """
    if for_write and not launch.fhir_user:
        raise NoUserIdentity()
    cached = session.get(USER_KEY)
    if isinstance(cached, dict) and cached.get("fhir_user") == launch.fhir_user:
        return Actor(cached.get("ref"), str(cached["name"]))
    # Read by id once: the fhirUser is written as a reference only if the server has it (HAPI
    # refuses a reference to a missing resource); otherwise by name only, from the sign-in.
    actor = verified_actor(client, launch.fhir_user, launch.user_name or UNNAMED)
    session[USER_KEY] = {"fhir_user": launch.fhir_user, "ref": actor.reference, "name": actor.display}
    return actor
