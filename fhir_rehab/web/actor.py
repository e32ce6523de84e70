"""Who is acting: the launch's fhirUser with a readable name, for Provenance and the pages."""

from __future__ import annotations

from flask import session

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.errors import NoUserIdentity
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.worklist import patient_name

USER_KEY = "acting_user"  # fhirUser -> display name, cached in the server-side session
READABLE_USERS = ("Practitioner", "Patient", "RelatedPerson")  # types that carry a name
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
    if isinstance(cached, dict) and cached.get("ref") == launch.fhir_user:
        return Actor(launch.fhir_user, str(cached["name"]))
    name = launch.user_name or UNNAMED
    kind, _, user_id = (launch.fhir_user or "").partition("/")
    if kind in READABLE_USERS and user_id and "/" not in user_id:
        try:
            name = patient_name(client.read(kind, user_id)) or name
        except FhirError:
            pass  # not readable with these scopes: the name from the sign-in, if any
    session[USER_KEY] = {"ref": launch.fhir_user, "name": name}
    return Actor(launch.fhir_user, name)
