"""Who is acting: the launch's fhirUser with a readable name, for Provenance and the pages."""

from __future__ import annotations

from flask import session

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.errors import NoUserIdentity
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services.people import actor_from, local_user_reference, verified_actor

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


def actor_to_read(launch: LaunchContext, client: FhirClient) -> str | None:
    """The user's resource (`Type/id`) when their name is not known in this session yet: a
    page reads it in the same batch as its record (then `remember_actor`), so no action pays
    a request of its own for it."""
    cached = session.get(USER_KEY)
    if isinstance(cached, dict) and cached.get("fhir_user") == launch.fhir_user:
        return None
    return local_user_reference(launch.fhir_user, client.base_url)


def remember_actor(launch: LaunchContext, local: str, resource: dict[str, object] | None) -> None:
    """Keep the user read by `actor_to_read` (None: missing or not readable: by name only)."""
    actor = actor_from(local, resource, launch.user_name or UNNAMED)
    session[USER_KEY] = {"fhir_user": launch.fhir_user, "ref": actor.reference, "name": actor.display}
