"""Exceptions to friendly pages or JSON, each with a reference id that is also logged."""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from fhir_rehab.errors import FhirRehabError
from fhir_rehab.fhir.errors import (
    FhirAuthError,
    FhirConflict,
    FhirError,
    FhirForbidden,
    FhirInvalid,
    FhirNotFound,
    FhirOutsideBase,
    FhirUnavailable,
)
from fhir_rehab.launch.errors import LaunchError
from fhir_rehab.launch.settings import LaunchSettings

log = logging.getLogger(__name__)

# First match wins: subclasses before their bases.
FHIR_STATUSES: tuple[tuple[type[FhirError], int], ...] = (
    (FhirAuthError, 401),
    (FhirForbidden, 403),
    (FhirNotFound, 404),
    (FhirConflict, 409),
    (FhirInvalid, 422),
    (FhirUnavailable, 503),
    (FhirOutsideBase, 502),
    (FhirError, 502),
)
TITLES = {
    400: "The request could not be handled",
    401: "Please launch the app from the EHR",
    403: "Access not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Someone else changed this record",
    422: "The data was not accepted",
    429: "Too many requests",
    500: "Something went wrong",
    502: "The EHR did not answer as expected",
    503: "The EHR is not answering",
}
HTTP_MESSAGES = {
    400: "The request could not be handled. Go back and try again.",
    401: "This page needs a launch from the EHR.",
    403: "You do not have access to this page.",
    404: "The page you asked for does not exist.",
    405: "This page cannot be used that way.",
    500: "Something went wrong on our side. Try again; if it keeps happening, contact support "
    "and quote the reference below.",
}
CSRF_MESSAGE = "This form expired or came from another page. Reload the page and try again."


def register_errorhandlers(app: Flask) -> None:
    """Friendly pages for the app's own errors, HTTP errors and anything unexpected."""
    app.register_error_handler(FhirRehabError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def handle_app_error(exc: FhirRehabError) -> Response:
    status = status_for(exc)
    relaunch = isinstance(exc, FhirAuthError)
    if relaunch:
        template = "errors/relaunch.html"
    elif isinstance(exc, LaunchError):
        template = "launch/error.html"
    else:
        template = "errors/error.html"
    if relaunch:
        title = getattr(exc, "title", None) or "Your session has ended"
    else:
        title = TITLES.get(status, TITLES[500])
    return render_error(
        exc,
        status,
        title=title,
        message=exc.user_message,
        template=template,
        sign_in_url=_sign_in_url(getattr(exc, "iss", None)) if relaunch else None,
    )


def handle_http_error(exc: HTTPException) -> Response | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc  # redirects raised by routing are not errors
    status = exc.code
    message = (
        CSRF_MESSAGE
        if isinstance(exc, CSRFError)
        else HTTP_MESSAGES.get(status) or type(exc).description or HTTP_MESSAGES[400]
    )
    response = render_error(exc, status, title=TITLES.get(status) or str(exc.name), message=message)
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_unexpected_error(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):  # pragma: no cover - routed to handle_http_error
        return handle_http_error(exc)  # type: ignore[return-value]
    return render_error(exc, 500, title=TITLES[500], message=HTTP_MESSAGES[500])


def status_for(exc: FhirRehabError) -> int:
    """The HTTP status of the page: the error's own `http_status`, else by FHIR error class."""
    status = getattr(exc, "http_status", None)
    if isinstance(status, int):
        return status
    for cls, code in FHIR_STATUSES:
        if isinstance(exc, cls):
            return code
    return 500


def render_error(
    exc: BaseException,
    status: int,
    *,
    title: str,
    message: str,
    template: str = "errors/error.html",
    sign_in_url: str | None = None,
) -> Response:
    """Log (reference, class, status) and answer with HTML or JSON; never a trace or a token."""
    reference = new_reference()
    log_error(reference, exc, status)
    if prefers_json():
        response = jsonify(
            error={"status": status, "title": title, "message": message, "reference": reference}
        )
    else:
        response = current_app.response_class(
            render_template(
                template,
                status=status,
                title=title,
                message=message,
                reference=reference,
                standalone_url=sign_in_url or _standalone_url(),
                retry=retry_action(status),
            ),
            mimetype="text/html",
        )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def new_reference() -> str:
    """A short id the user can quote and support can find in the log.

    >>> len(new_reference()), new_reference() != new_reference()
    (9, True)
    """
    raw = secrets.token_hex(4).upper()
    return f"{raw[:4]}-{raw[4:]}"


def log_error(reference: str, exc: BaseException, status: int) -> None:
    """One line: reference, class, status, endpoint; for 500s also where (file:line only).

    Messages are never logged: an exception text may carry a URL, a query or a server's
    diagnostics with patient details.
    """
    fields: list[Any] = [reference, type(exc).__name__, status, request.endpoint or "-"]
    if status >= 500 and not isinstance(exc, FhirRehabError | HTTPException):
        frames = traceback.extract_tb(exc.__traceback__)[-4:]
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(frames))
        log.error("error ref=%s class=%s status=%d endpoint=%s at %s", *fields, where or "-")
        return
    level = logging.ERROR if status >= 500 else logging.WARNING
    log.log(level, "error ref=%s class=%s status=%d endpoint=%s", *fields)


def prefers_json() -> bool:
    """JSON when the client asks for it more than for HTML (browsers send text/html)."""
    accept = request.accept_mimetypes
    named = {value for value, _ in accept}
    if accept["application/json"] > accept["text/html"]:
        return True
    return "application/json" in named and "text/html" not in named


# Statuses worth trying again as they are: the EHR or the app failed, or asked us to slow down.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_action(status: int) -> tuple[str, str] | None:
    """(label, URL) of the page's "try again" action, or None when trying again cannot help.

    A failed page (GET) is reloaded; a failed form (POST) is not sent again blindly: the way back
    is to the page it came from, on this site only, where the form can be sent again (the app's
    forms carry submission ids and versions, so a second send never saves twice)."""
    if status not in RETRY_STATUSES:
        return None
    if request.method in ("GET", "HEAD"):
        return "Try again", request.full_path.rstrip("?")
    back = urlsplit(request.referrer or "")
    if back.netloc == request.host and back.scheme in ("http", "https") and back.path.startswith("/"):
        return "Go back to the page and try again", back.path + (f"?{back.query}" if back.query else "")
    return None


def _sign_in_url(iss: str | None) -> str | None:
    """A new sign-in at the EHR the launch used (a standalone launch), when it is allowed."""
    if not iss or "launch.launch" not in current_app.view_functions:
        return None
    if LaunchSettings.from_config(current_app.config).allowed_iss(iss) is None:
        return None
    return url_for("launch.launch", iss=iss)


def _standalone_url() -> str | None:
    """Where a user who did not come from the EHR can start again (only with DEFAULT_ISS)."""
    if not current_app.config.get("DEFAULT_ISS") or "launch.launch" not in current_app.view_functions:
        return None
    return url_for("launch.launch")
