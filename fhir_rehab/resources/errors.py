"""Errors of the resource layer: the app refused to build or read a resource."""

from __future__ import annotations

from fhir_rehab.errors import FhirRehabError


class ResourceError(FhirRehabError):
    """Root of the resource layer's errors."""

    user_message = "A FHIR resource could not be built or read."


class InvalidCode(ResourceError):
    """Fix the code: the app was about to send a code it cannot vouch for (a bug, not retryable)."""

    user_message = "The app refused to send an unverified code."


class InvalidResource(ResourceError):
    """A resource failed validation against the FHIR R4 models."""

    user_message = "The FHIR server returned data the app could not read."


class ScoreOutOfRange(ResourceError, ValueError):
    """A score outside its scale reached the builder (the pages and the CLI check it first)."""

    user_message = "The score is outside its scale."


class UnusablePrefetch(ResourceError, ValueError):
    """A CDS Hooks prefetch value does not answer its template (the service then reads it)."""
