"""register_errorhandlers: friendly HTML or JSON, a logged reference id, no trace, token or PHI."""

from __future__ import annotations

import logging
import re

import pytest

from fhir_rehab.fhir.errors import (
    FhirAuthError,
    FhirConflict,
    FhirError,
    FhirForbidden,
    FhirInvalid,
    FhirNotFound,
    FhirUnavailable,
    WrongPatientError,
)
from fhir_rehab.launch.errors import LaunchRequired

RAISED = {
    "conflict": (FhirConflict, 409, "Someone else changed this record"),
    "unavailable": (FhirUnavailable, 503, "not answering"),
    "forbidden": (FhirForbidden, 403, "did not grant the app access"),
    "wrong-patient": (WrongPatientError, 403, "did not belong to the patient"),
    "not-found": (FhirNotFound, 404, "was not found"),
    "auth": (FhirAuthError, 401, "Relaunch the app from the EHR"),
    "invalid": (FhirInvalid, 422, "rejected the data"),
    "fhir": (FhirError, 502, "could not complete the request"),
    "launch-required": (LaunchRequired, 401, "needs a launch from the EHR"),
}
REFERENCE = re.compile(r"[0-9A-F]{4}-[0-9A-F]{4}")


@pytest.fixture
def app(make_app):
    app = make_app()

    def raiser(kind: str) -> str:
        cls = RAISED[kind][0]
        # Server diagnostics may name the patient: they must never reach the page or the log.
        error = (
            cls(None, status=500, url="https://ehr.example/fhir/Patient/p1?name=Roe")
            if issubclass(cls, FhirError)
            else cls()
        )
        error.args = ("GET /Patient -> diagnostics: patient Jane Roe",)
        raise error

    app.add_url_rule("/_test/raise/<kind>", view_func=raiser, methods=["GET", "POST"])
    app.add_url_rule("/_test/form", "form", view_func=lambda: "saved", methods=["POST"])
    return app


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_app_errors_become_friendly_pages(kind, client, caplog) -> None:
    _, status, text = RAISED[kind]
    response = client.get(f"/_test/raise/{kind}", headers={"Accept": "text/html"})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert text in body
    assert "Jane Roe" not in body and "Traceback" not in body
    reference = REFERENCE.search(body).group(0)
    assert f"ref={reference}" in caplog.text
    assert f"status={status}" in caplog.text
    assert "Jane Roe" not in caplog.text
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("kind", ["conflict", "auth", "wrong-patient"])
def test_json_when_the_client_prefers_it(kind, client) -> None:
    _, status, text = RAISED[kind]
    response = client.get(f"/_test/raise/{kind}", headers={"Accept": "application/json"})
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["status"] == status
    assert text in error["message"]
    assert REFERENCE.fullmatch(error["reference"])


def test_browser_accept_header_gets_html(client) -> None:
    response = client.get(
        "/_test/raise/conflict",
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )
    assert response.mimetype == "text/html"


def test_relaunch_page_explains_how_to_relaunch(client) -> None:
    body = client.get("/_test/raise/auth").get_data(as_text=True)
    assert "Your session has ended" in body
    assert "Close this window" in body
    assert "app list" in body


def test_unexpected_exception_is_a_500_without_details(client, caplog) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/_test/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leak in ("RuntimeError", "secret detail", "AT-secret-1", "Jane Roe", "Traceback"):
        assert leak not in body
        assert leak not in caplog.text or leak == "RuntimeError"
    reference = REFERENCE.search(body).group(0)
    record = next(r for r in caplog.records if reference in r.getMessage())
    assert record.levelno == logging.ERROR
    assert "class=RuntimeError" in record.getMessage()
    assert "conftest.py" in record.getMessage()  # where it happened, file:line only
    assert record.exc_info is None


def test_404_page_and_json(client) -> None:
    html = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert html.status_code == 404
    assert "does not exist" in html.get_data(as_text=True)
    data = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert data.get_json()["error"]["status"] == 404


def test_405_keeps_the_allow_header(client) -> None:
    response = client.post("/launch")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_routing_redirects_are_not_errors(app, client) -> None:
    app.add_url_rule("/_test/slash/", "slash", view_func=lambda: "ok")
    response = client.get("/_test/slash")
    assert response.status_code in (301, 308)


def test_launch_required_page(client) -> None:
    response = client.get("/_test/whoami", headers={"Accept": "text/html"})
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "needs a launch from the EHR" in body
    assert "Care coordinators" in body


def test_error_pages_use_the_accessible_layout(client) -> None:
    body = client.get("/_test/raise/conflict").get_data(as_text=True)
    assert 'href="#main"' in body and '<main id="main"' in body
    assert "<h1" in body and 'lang="en"' in body
    assert "http://" not in body.split("<body>")[0].replace('href="/', "")  # no CDN


def test_standalone_link_only_with_default_iss(make_app) -> None:
    app = make_app(DEFAULT_ISS="https://ehr.example/fhir/r4")
    body = app.test_client().get("/_test/whoami").get_data(as_text=True)
    assert 'href="/launch"' in body


def test_csrf_failure_is_a_friendly_400(client) -> None:
    response = client.post("/_test/form", data={"x": "1"}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["unavailable", "fhir"])
def test_a_failed_page_offers_to_try_again(kind, client) -> None:
    body = client.get(f"/_test/raise/{kind}?page=2", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<a class="button" href="/_test/raise/' + kind + '?page=2">Try again</a>' in body


def test_a_failed_form_offers_the_way_back_to_its_page_on_this_site_only(app, client) -> None:
    app.config["WTF_CSRF_ENABLED"] = False  # the form's CSRF check is tested elsewhere
    back = client.post(
        "/_test/raise/unavailable",
        headers={"Accept": "text/html", "Referer": "http://localhost/patient/program"},
    ).get_data(as_text=True)
    assert '<a class="button" href="/patient/program">Go back to the page and try again</a>' in back
    elsewhere = client.post(
        "/_test/raise/unavailable", headers={"Accept": "text/html", "Referer": "https://evil.example/x"}
    ).get_data(as_text=True)
    assert "evil.example" not in elsewhere and "Go back to the page" not in elsewhere


@pytest.mark.parametrize("kind", ["conflict", "forbidden", "not-found", "invalid", "wrong-patient"])
def test_no_retry_where_trying_again_cannot_help(kind, client) -> None:
    body = client.get(f"/_test/raise/{kind}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Try again" not in body
