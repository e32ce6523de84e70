"""Who acts: a user reference is written only once the server has shown it exists.

HAPI enforces referential integrity on write (a reference to a missing resource fails the whole
transaction with 400), and a SMART `fhirUser` may name a resource on another server or one this
token cannot read. So the app reads the user's resource by id first: found, the reference is
written; not found or not readable, the user is written by name only (display-only Reference).
"""

from __future__ import annotations

import re

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError, FhirNotFound
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.worklist import patient_name
from fhir_rehab.services.errors import ServiceError

USER_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson")
_LOCAL = re.compile(r"^(" + "|".join(USER_TYPES) + r")/([A-Za-z0-9\-.]{1,64})$")


class UnknownPractitioner(ServiceError):
    """Tell the user: the person named as acting is not on this FHIR server."""

    user_message = "The person named as acting was not found on the FHIR server."


def local_user_reference(reference: str | None, base_url: str) -> str | None:
    """`Type/id` for a user reference on this server (relative, or absolute on `base_url`).

    >>> local_user_reference("https://ehr/fhir/Practitioner/7", "https://ehr/fhir")
    'Practitioner/7'
    >>> local_user_reference("https://elsewhere/fhir/Practitioner/7", "https://ehr/fhir") is None
    True
    >>> local_user_reference("Organization/1", "https://ehr/fhir") is None
    True
    """
    if not reference:
        return None
    base = base_url.rstrip("/") + "/"
    if "://" in reference:
        if not reference.startswith(base):
            return None
        reference = reference[len(base) :]
    return reference if _LOCAL.match(reference) else None


def verified_actor(client: FhirClient, reference: str | None, display: str) -> Actor:
    """The acting user: with their reference if the server has it, by name only otherwise."""
    local = local_user_reference(reference, client.base_url)
    if local is None:
        return Actor(None, display)
    rtype, rid = local.split("/", 1)
    try:
        resource = client.read(rtype, rid)
    except FhirError:  # missing, or not readable with these scopes: cannot be referenced safely
        return Actor(None, display)
    return actor_from(local, resource, display)


def actor_from(local: str | None, resource: dict[str, object] | None, display: str) -> Actor:
    """The acting user from their resource as read (None: missing or not readable, so by name
    only); `local` is what `local_user_reference` made of their reference."""
    if local is None or resource is None:
        return Actor(None, display)
    return Actor(local, patient_name(resource) or display)


def require_actor(client: FhirClient, reference: str | None, display: str) -> Actor:
    """Like verified_actor, but a named user who is not on the server is refused (CLI)."""
    if reference is None:
        return Actor(None, display)
    local = local_user_reference(reference, client.base_url)
    if local is None:
        raise UnknownPractitioner(
            f"{reference} is not a Practitioner, PractitionerRole, Patient or RelatedPerson "
            "reference on this FHIR server (expected e.g. Practitioner/123)."
        )
    try:
        resource = client.read(*local.split("/", 1))
    except FhirNotFound:
        raise UnknownPractitioner(
            f"{local} was not found on the FHIR server; name an existing one, or leave it out."
        ) from None
    return Actor(local, patient_name(resource) or display)
