"""The sandbox's errors, under their own root (not the app's); messages never carry tokens.

Errors the proxy answers with say how: an HTTP `status` and an OperationOutcome issue `code`.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Root of every error the sandbox raises on purpose; `user_message` is safe to show."""

    status = 500
    code = "exception"
    user_message = "The sandbox failed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.user_message)
        if message:
            self.user_message = message


class ConfigurationError(SandboxError, ValueError):
    """A sandbox setting or client registration is not usable."""


class UnknownFault(SandboxError, ValueError):
    """A fault name the sandbox does not simulate."""


class FhirServerError(SandboxError, RuntimeError):
    """The local FHIR server could not be started."""


class AccessDenied(SandboxError):
    """Answer 403: the granted scopes or the patient compartment do not allow the request."""

    status = 403
    code = "forbidden"


class UnsupportedRequest(SandboxError):
    """Answer 400: the proxy cannot tell what the request does, so it cannot authorize it."""

    status = 400
    code = "not-supported"


class BackingUnavailable(SandboxError):
    """Answer 502: the backing FHIR server did not answer."""

    status = 502
    code = "transient"


class NotAuthenticated(SandboxError):
    """Answer 401 with `WWW-Authenticate: Bearer ...`: no token, or not a valid one."""

    status = 401
    code = "login"

    def __init__(self, message: str | None = None, *, www_authenticate: str = "Bearer") -> None:
        super().__init__(message)
        self.www_authenticate = www_authenticate


class SimulatedServerError(SandboxError):
    """Answer 500: the launch carries the fhir_server_error fault."""

    status = 500
    code = "exception"
