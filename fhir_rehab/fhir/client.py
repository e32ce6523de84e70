"""A small synchronous FHIR R4 REST client on `requests`: one request method, errors mapped once."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests

from fhir_rehab.fhir.errors import (
    FhirAuthError,
    FhirConflict,
    FhirError,
    FhirForbidden,
    FhirInvalid,
    FhirNotFound,
    FhirOutsideBase,
    FhirRedirected,
    FhirUnavailable,
)

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD"})
NOT_MODIFIED = 304  # an answer to a conditional read, not a redirect
MAX_RETRY_AFTER_SECONDS = 30.0

Resource = dict[str, Any]
TokenProvider = Callable[[], str | None]


@dataclass
class FhirResponse:
    """What the server answered: status, the JSON body (if any) and the useful headers."""

    status: int
    body: Resource | None
    etag: str | None = None
    location: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def version_id(self) -> str | None:
        """`W/"3"` -> `3`."""
        return parse_etag(self.etag)


def parse_etag(etag: str | None) -> str | None:
    """Version id from an ETag.

    >>> parse_etag('W/"3"')
    '3'
    >>> parse_etag(None) is None
    True
    """
    if not etag:
        return None
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"') or None


def _retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped.

    >>> _retry_after_seconds("2", 1.0)
    2.0
    >>> _retry_after_seconds(None, 0.5)
    0.5
    >>> _retry_after_seconds("9999", 1.0)
    30.0
    """
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return default
        seconds = parsed.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_AFTER_SECONDS))


_STATUS_ERRORS: dict[int, type[FhirError]] = {
    400: FhirInvalid,
    422: FhirInvalid,
    401: FhirAuthError,
    403: FhirForbidden,
    404: FhirNotFound,
    410: FhirNotFound,
    409: FhirConflict,
    412: FhirConflict,
}


class FhirClient:
    """Talks to one FHIR base URL and never follows a URL outside it.

    `token_provider` returns the current bearer token (or None); the SMART launch layer passes
    one that refreshes before expiry. `sleep` is injectable so retry tests need not wait.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token_provider: TokenProvider | None = None,
        timeout: float = 20.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_provider = token_provider
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.http = session or requests.Session()
        self.sleep = sleep
        self.request_count = 0  # for benchmarks and tests
        self.server_date: str | None = None  # the Date header of the latest answer (server clock)

    # -- URLs ----------------------------------------------------------------------------
    def url_for(self, path_or_url: str) -> str:
        """A relative path joins the base; the result must lie under the base.

        Checked after normalisation: `.` and `..` segments are resolved (RFC 3986 5.2.4),
        both as sent and percent-decoded, so `<base>/../x` and `<base>/%2e%2e/x` are refused.
        Scheme, userinfo, host and port must equal the base's. Returns the normalised URL.
        """
        if "://" not in path_or_url:
            path_or_url = f"{self.base_url}/{path_or_url.lstrip('/')}"
        base, url = urlsplit(self.base_url), urlsplit(path_or_url)
        base_path = base.path.rstrip("/")
        path = _resolve_dots(url.path)
        outside = (url.scheme, url.netloc) != (base.scheme, base.netloc) or not all(
            p == base_path or p.startswith(base_path + "/") for p in (path, _resolve_dots(unquote(url.path)))
        )
        if outside:
            raise FhirOutsideBase(
                f"Refusing to follow a URL outside the FHIR base {self.base_url}", url=path_or_url
            )
        return urlunsplit((url.scheme, url.netloc, path, url.query, url.fragment))

    # -- the one request method ----------------------------------------------------------
    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> FhirResponse:
        """Send one interaction, retrying only safe methods on transient failures."""
        url = self.url_for(path_or_url)
        method = method.upper()
        send_headers = {"Accept": FHIR_JSON}
        if json is not None:
            send_headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
        if headers:
            send_headers.update(headers)
        attempts = 1 + (self.max_retries if is_read(method, json) else 0)
        for attempt in range(attempts):
            token = self.token_provider() if self.token_provider else None
            if token:
                send_headers["Authorization"] = f"Bearer {token}"
            self.request_count += 1
            try:
                resp = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=send_headers,
                    timeout=self.timeout,
                    allow_redirects=False,  # a redirect would re-send the body and the token
                )
            except requests.RequestException as exc:
                transient = isinstance(exc, requests.Timeout | requests.ConnectionError)
                if transient and attempt + 1 < attempts:
                    self.sleep(self.backoff * 2**attempt)
                    continue
                kind = (
                    "timed out"
                    if isinstance(exc, requests.Timeout)
                    else "could not be reached"
                    if transient
                    else f"could not be asked ({type(exc).__name__})"
                )
                raise FhirUnavailable(f"The FHIR server {kind} ({method} {_path(url)}).", url=url) from None
            if resp.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                self.sleep(_retry_after_seconds(resp.headers.get("Retry-After"), self.backoff * 2**attempt))
                continue
            return self._to_response(method, url, resp)
        raise AssertionError("unreachable")  # pragma: no cover

    def _to_response(self, method: str, url: str, resp: requests.Response) -> FhirResponse:
        self.server_date = resp.headers.get("Date") or self.server_date
        if 300 <= resp.status_code < 400 and resp.status_code != NOT_MODIFIED:
            location = resp.headers.get("Location") or "(no Location header)"
            raise FhirRedirected(
                f"{method} {_path(url)} -> HTTP {resp.status_code} redirect to {location}; "
                "not followed, nothing re-sent",
                status=resp.status_code,
                url=url,
                location=resp.headers.get("Location"),
            )
        body = _json_or_none(resp)
        if resp.status_code >= 400:
            raise error_for(method, url, resp.status_code, body)
        return FhirResponse(
            status=resp.status_code,
            body=body,
            etag=resp.headers.get("ETag"),
            location=resp.headers.get("Location") or resp.headers.get("Content-Location"),
            headers=resp.headers,
        )

    # -- interactions --------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> Resource:
        return self._body(self.request("GET", f"{resource_type}/{resource_id}"))

    def search(
        self, resource_type: str, params: Mapping[str, Any] | list[tuple[str, str]], *, fresh: bool = True
    ) -> Resource:
        """First page of a search. `fresh` asks caches (HAPI keeps 60 s) for a new answer."""
        headers = {"Cache-Control": "no-cache"} if fresh else None
        return self._body(self.request("GET", resource_type, params=params, headers=headers))

    def next_page(self, bundle: Resource) -> Resource | None:
        """Follow the bundle's `next` link, an opaque URL that must stay on our base."""
        url = next_link(bundle)
        if url is None:
            return None
        return self._body(self.request("GET", url, headers={"Cache-Control": "no-cache"}))

    def pages(
        self, resource_type: str, params: Mapping[str, Any] | list[tuple[str, str]], max_pages: int = 100
    ) -> Iterator[Resource]:
        """Every page of a search, following `next` links, at most `max_pages`."""
        page: Resource | None = self.search(resource_type, params)
        count = 0
        while page is not None and count < max_pages:
            yield page
            count += 1
            page = self.next_page(page)

    def search_all(
        self, resource_type: str, params: Mapping[str, Any] | list[tuple[str, str]], max_pages: int = 100
    ) -> list[Resource]:
        """Every resource a search returns (matches and includes), across pages."""
        out: list[Resource] = []
        for page in self.pages(resource_type, params, max_pages):
            out.extend(e["resource"] for e in page.get("entry") or [] if "resource" in e)
        return out

    def create(self, resource: Resource, *, if_none_exist: str | None = None) -> FhirResponse:
        headers = {"Prefer": "return=representation"}
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist
        return self.request("POST", resource["resourceType"], json=resource, headers=headers)

    def update(self, resource: Resource, *, if_match: str | None = None) -> FhirResponse:
        """PUT the resource; with `if_match` (a version id) a stale version raises FhirConflict."""
        headers = {"Prefer": "return=representation"}
        if if_match is not None:
            headers["If-Match"] = f'W/"{if_match}"'
        path = f"{resource['resourceType']}/{resource['id']}"
        return self.request("PUT", path, json=resource, headers=headers)

    def delete(self, resource_type: str, resource_id: str) -> FhirResponse:
        return self.request("DELETE", f"{resource_type}/{resource_id}")

    def transaction(self, bundle: Resource, *, fresh: bool = True) -> Resource:
        """POST a transaction (or batch) Bundle to the base; returns the response Bundle.

        `fresh` (the default) sends `Cache-Control: no-cache`: HAPI's batch sub-requests inherit
        the POST's headers (ServletSubRequestDetails copies them), so without it a batch's
        searches may be answered from a result cached up to 60 s ago, missing what the app has
        just written.
        """
        headers = {"Prefer": "return=representation"}
        if fresh:
            headers["Cache-Control"] = "no-cache"
        return self._body(self.request("POST", self.base_url, json=bundle, headers=headers))

    def batch(
        self,
        urls: Sequence[str],
        *,
        missing_ok: bool = False,
        fresh: bool = True,
        optional: frozenset[str] = frozenset(),
    ) -> list[Resource | None]:
        """GET every URL (relative to the base) in one batch round trip; each answer, in order.
        `fresh`: past any search cache (see `transaction`).

        A failed entry raises exactly what the same plain GET would (see `error_for`: 401
        FhirAuthError, 403 FhirForbidden, 404 FhirNotFound, 5xx FhirUnavailable, ...), the first
        failed entry first. With `missing_ok` a 404/410 entry gives None instead; so does any
        4xx answer to a URL in `optional` (a read the caller can do without, e.g. one the
        token's scopes may not cover).
        """
        if not urls:
            return []
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": url}} for url in urls],
        }
        entries = self.transaction(bundle, fresh=fresh).get("entry") or []
        return self.read_answers(urls, entries, missing_ok=missing_ok, what="a batch", optional=optional)

    def read_answers(
        self,
        urls: Sequence[str],
        entries: Sequence[Resource],
        *,
        missing_ok: bool = False,
        what: str,
        optional: frozenset[str] = frozenset(),
    ) -> list[Resource | None]:
        """The resources answering GET `urls`, from their response entries (a batch's, or the
        read entries of a transaction), raising for a failed entry as `batch` does."""
        found: list[Resource | None] = []
        for url, entry in zip(urls, entries, strict=False):
            answer = entry.get("response") or {}
            status = entry_status(answer.get("status"))
            resource = entry.get("resource")
            if (status in (404, 410) and missing_ok) or (400 <= status < 500 and url in optional):
                found.append(None)
            elif not 200 <= status < 300:
                raise error_for("GET", self.url_for(url.split("?")[0]), status, answer.get("outcome"))
            elif not isinstance(resource, dict):
                raise FhirError(
                    f"The FHIR server answered GET {url.split('?')[0]} in {what} without a resource."
                )
            else:
                found.append(resource)
        if len(entries) != len(urls):
            raise FhirError(
                f"The FHIR server answered {what} of {len(urls)} reads with {len(entries)} entries."
            )
        return found

    def capabilities(self) -> Resource:
        return self._body(self.request("GET", "metadata"))

    @staticmethod
    def _body(response: FhirResponse) -> Resource:
        if response.body is None:
            raise FhirError("The FHIR server answered without a JSON body.", status=response.status)
        return response.body


def is_read(method: str, body: Any = None) -> bool:
    """A request that changes nothing, so a retry is safe: GET, HEAD, or a batch of reads.

    >>> is_read("GET"), is_read("POST", {"resourceType": "Bundle", "type": "transaction"})
    (True, False)
    >>> is_read("POST", {"resourceType": "Bundle", "type": "batch",
    ...                  "entry": [{"request": {"method": "GET", "url": "Patient/1"}}]})
    True
    """
    method = method.upper()
    if method in SAFE_METHODS:
        return True
    if method != "POST" or not isinstance(body, dict):
        return False
    if body.get("resourceType") != "Bundle" or body.get("type") != "batch":
        return False
    entries = body.get("entry") or []
    return bool(entries) and all(
        isinstance(e, dict)
        and isinstance(e.get("request"), dict)
        and str(e["request"].get("method", "")).upper() in SAFE_METHODS
        for e in entries
    )


def _resolve_dots(path: str) -> str:
    """The path with `.` and `..` segments resolved (RFC 3986 5.2.4, via urljoin).

    >>> _resolve_dots("/fhir/../../steal/Task"), _resolve_dots("/fhir/Task/./1")
    ('/steal/Task', '/fhir/Task/1')
    """
    if not path:
        return path
    # One leading slash: urljoin would read `//host/...` as another authority.
    return urlsplit(urljoin("http://h/", "/" + path.lstrip("/"))).path


def next_link(bundle: Resource) -> str | None:
    """The `next` link of a searchset Bundle, if any."""
    for link in bundle.get("link") or []:
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def entry_status(status: Any) -> int:
    """The HTTP status code of a batch entry's `response.status` ("200 OK" -> 200).

    Anything unreadable counts as a server error, never as success.

    >>> entry_status("200 OK"), entry_status("404"), entry_status(None), entry_status("OK")
    (200, 404, 500, 500)
    """
    text = str(status or "").strip()
    return int(text[:3]) if text[:3].isdigit() else 500


def _path(url: str) -> str:
    """The URL's path only: query strings may carry identifiers, which stay out of messages."""
    return urlsplit(url).path


def _json_or_none(resp: requests.Response) -> Resource | None:
    if not resp.content:
        return None
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def error_for(method: str, url: str, status: int, body: Resource | None) -> FhirError:
    """The exception for an HTTP status (also a batch entry's), with its OperationOutcome."""
    outcome = body if body and body.get("resourceType") == "OperationOutcome" else None
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = FhirUnavailable if status >= 500 or status == 429 else FhirError
    error = cls(None, status=status, outcome=outcome, url=url)
    detail = "; ".join(error.diagnostics())[:500]
    error.args = (f"{method} {_path(url)} -> HTTP {status}" + (f": {detail}" if detail else ""),)
    return error
