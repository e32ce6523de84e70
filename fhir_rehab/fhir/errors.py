"""FHIR client errors; each subclass says what the caller should do next."""

from __future__ import annotations

from typing import Any

from fhir_rehab.errors import FhirRehabError


class FhirError(FhirRehabError):
    """A FHIR interaction failed. Carries the HTTP status and OperationOutcome, if any."""

    user_message = "The FHIR server could not complete the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        outcome: dict[str, Any] | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome
        self.url = url

    def diagnostics(self) -> list[str]:
        """The OperationOutcome's issue texts (server-provided; may be empty)."""
        issues = (self.outcome or {}).get("issue") or []
        out = []
        for issue in issues:
            text = issue.get("diagnostics") or (issue.get("details") or {}).get("text")
            if text:
                out.append(str(text))
        return out


class FhirUnavailable(FhirError):
    """Retry later: the server timed out, refused the connection or answered 5xx/429."""

    user_message = "The FHIR server is not answering. Try again in a moment."


class FhirAuthError(FhirError):
    """Re-authorize: the server answered 401 (token missing, expired or revoked)."""

    user_message = "The EHR did not accept the app's access. Relaunch the app from the EHR."


class FhirForbidden(FhirError):
    """Tell the user: the token does not grant this (403)."""

    user_message = "The EHR did not grant the app access to this data."


class FhirNotFound(FhirError):
    """Tell the user: the resource does not exist (404 or 410)."""

    user_message = "The requested record was not found on the FHIR server."


class FhirConflict(FhirError):
    """Reload and retry: someone else changed the resource (409 or 412; HAPI sends 409)."""

    user_message = "Someone else changed this record. Reload to see their change."


class FhirInvalid(FhirError):
    """Fix the input: the server rejected the request as invalid (400, 422)."""

    user_message = "The FHIR server rejected the data as invalid."


class FhirOutsideBase(FhirError):
    """A URL (for example a paging link) points outside the FHIR base: refused."""

    user_message = "The FHIR server returned a link outside its own base URL."


class FhirRedirected(FhirError):
    """Stop: the server answered with a redirect (3xx). It is never followed, so neither the
    request body nor the bearer token goes to the other address; `location` names it."""

    user_message = (
        "The FHIR server tried to send the request to another address. The app does not "
        "follow such redirects, so nothing was sent there. Contact your administrator."
    )

    def __init__(self, message: str | None = None, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location
        # The message names the method, status and Location for the CLI and the operator; a
        # page says it in plain words, without a status code or the (server-chosen) address.
        self.user_message = type(self).user_message


class WrongPatientError(FhirForbidden):
    """Stop: a resource sent or received belongs to another patient (or to no known patient)."""

    user_message = (
        "The app stopped because some data did not belong to the patient it was "
        "launched for. Nothing further was shown or saved; relaunch from the EHR."
    )

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # The detail ("Task.for does not reference the launch patient") is for the log; the
        # user reads what happened and what to do, in plain words.
        self.user_message = type(self).user_message
