"""CDS Hooks errors; each maps to one HTTP status and a JSON body without detail from secrets."""

from __future__ import annotations

from fhir_rehab.errors import FhirRehabError


class CdsError(FhirRehabError):
    """Root of the CDS Hooks service's errors."""

    status = 400
    user_message = "The CDS Hooks request could not be handled."


class CdsUnauthorized(CdsError):
    """The CDS client is not trusted (JWT missing or invalid). The reason is logged, never sent."""

    status = 401
    user_message = "Unauthorized"

    def __init__(self, reason: str) -> None:
        super().__init__(None)
        self.reason = reason


class BadHookRequest(CdsError):
    """Fix the request: it is not a valid CDS Hooks call (the message says what is wrong)."""

    status = 400
    user_message = "The CDS Hooks request is not valid."


class PrefetchUnavailable(CdsError):
    """CDS Hooks 2.0: the data needed is neither prefetched nor readable from the FHIR server."""

    status = 412
    user_message = "The service could not obtain the patient data it needs."
