"""Sandbox errors; each says how the proxy answers. Messages never carry tokens."""

from __future__ import annotations

from fhir_rehab.errors import FhirRehabError


class SandboxError(FhirRehabError):
    """Root of the sandbox's own errors."""

    status = 500
    code = "exception"


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
