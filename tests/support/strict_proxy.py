"""A test proxy that makes the lax local FHIR server behave like a default HAPI FHIR JPA server.

sekmet-fhir (the local test server) answers a stale If-Match with 412, always sends
`Bundle.total`, ignores unknown search parameters, honours `:missing`, accepts references to
resources that do not exist, deletes referenced resources, and picks one of two matches of a
conditional create. Public HAPI servers do none of that. `StrictFhirProxy` sits in front of
the local server and does what HAPI does by default, each behaviour checked against HAPI's
sources (hapifhir/hapi-fhir, cited per method below):

- search results are reused for 60 s unless the request says `Cache-Control: no-cache`, and
  GET entries of a batch or transaction inherit the batch POST's headers;
- a stale If-Match (direct or a transaction entry's `ifMatch`) is answered 409;
- `Bundle.total` is left out unless asked for (`_total=accurate|estimate`, `_summary=count`);
- `_count` is capped and paging goes through `[base]?_getpages=<search id>` links that expire;
- unknown search parameters are refused with 400 and `:missing` with 405;
- a write that references a resource that does not exist is refused with 400;
- deleting a resource that another resource references is refused with 409;
- a conditional create whose criteria match more than one resource is refused with 412;
- a PATCH entry of a transaction (JSON Patch in a Binary) that cannot be applied, a failed
  `test` operation included, is refused with 400, one whose result references a resource that
  does not exist with 400, and one with `ifMatch` with 400 (read as a match URL).

It is a test double: it checks on the backing server (reads and searches) before forwarding,
so a write racing another can slip between check and write, which HAPI's database prevents.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jsonpatch
import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ehr_sandbox.fhir_server import free_port

Resource = dict[str, Any]
Params = list[tuple[str, str]]
FHIR_JSON = "application/fhir+json"
# Search parameters every resource type has (R4 search.html "Parameters for all resources")
# and the result parameters (search.html#modifyingresults) HAPI accepts on a search.
COMMON_PARAMS = frozenset(
    {"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content", "_list", "_has"}
)
RESULT_PARAMS = frozenset(
    {"_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_contained"}
    | {"_containedType", "_format", "_pretty", "_include:iterate", "_revinclude:iterate"}
)
# Types whose references the delete check scans (what the app and its tests write).
SCANNED_TYPES = (
    "Observation",
    "Task",
    "CarePlan",
    "Goal",
    "Provenance",
    "Condition",
    "QuestionnaireResponse",
    "Patient",
    "PractitionerRole",
)
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
REASONS |= {409: "Conflict", 410: "Gone", 412: "Precondition Failed"}
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]+)?$")


class Refused(Exception):
    """What HAPI would answer instead of doing the request: a status and an OperationOutcome."""

    def __init__(
        self, status: int, diagnostics: str, code: str = "processing", outcome: Resource | None = None
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.outcome = outcome or {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
        }


@dataclass
class _Search:
    """A search the proxy answered: what to ask the backing server for the following pages."""

    resource_type: str
    params: Params
    page_size: int
    created: float


@dataclass
class _Cached:
    bundle: Resource
    at: float


@dataclass
class ProxyStats:
    """What the proxy did, for tests to assert on."""

    cache_hits: int = 0
    refused: list[int] = field(default_factory=list)


class StrictFhirProxy:
    """Serve `base_url` (…/fhir) on loopback in front of `backend_base`, HAPI-style.

    `max_page_size` caps `_count` (HAPI's FifoMemoryPagingProvider / JPA paging provider have
    a configurable maximum page size; the public server's is 500; a small cap here makes every
    paged read visible in tests). `clock` is injectable so tests can age the cache and pages.
    """

    def __init__(
        self,
        backend_base: str,
        *,
        max_page_size: int = 50,
        default_page_size: int = 20,
        cache_seconds: float = 60.0,
        search_lifetime_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        port: int | None = None,
    ) -> None:
        self.backend = backend_base.rstrip("/")
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.cache_seconds = cache_seconds
        self.search_lifetime = search_lifetime_seconds
        self.clock = clock
        self.stats = ProxyStats()
        self.http = requests.Session()
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], _Cached] = {}
        self._searches: dict[str, _Search] = {}
        self._known: dict[str, frozenset[str]] = {}
        self._reference_params: dict[str, list[str]] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> StrictFhirProxy:
        self._read_search_parameters()
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="strict-fhir")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> StrictFhirProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_searches(self) -> None:
        """Forget every paging link and cached search, as HAPI does once they expire."""
        with self._lock:
            self._searches.clear()
            self._cache.clear()

    def _read_search_parameters(self) -> None:
        capability = self.http.get(f"{self.backend}/metadata", timeout=30).json()
        for rest in capability.get("rest") or []:
            for resource in rest.get("resource") or []:
                params = resource.get("searchParam") or []
                self._known[resource["type"]] = frozenset(p["name"] for p in params)
                self._reference_params[resource["type"]] = [
                    p["name"] for p in params if p.get("type") == "reference"
                ]

    # -- WSGI ------------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except Refused as refused:
            self.stats.refused.append(refused.status)
            response = _json_response(refused.status, refused.outcome)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path.removeprefix("/fhir").strip("/")
        params: Params = list(request.args.items(multi=True))
        method = request.method.upper()
        no_cache = _no_cache(request.headers.get("Cache-Control"))
        if not path and method == "GET" and request.args.get("_getpages"):
            return _json_response(200, self._page(request.args))
        if not path and method == "POST":
            bundle = json.loads(request.get_data() or b"{}")
            status, body = self._bundle(bundle, no_cache=no_cache)
            return _json_response(status, body)
        segments = path.split("/")
        if method == "GET" and len(segments) == 1 and path and path != "metadata":
            return _json_response(200, self._search(segments[0], params, no_cache=no_cache))
        body = json.loads(request.get_data()) if request.get_data() else None
        if method == "POST" and len(segments) == 1 and isinstance(body, dict):
            self._check_references(body, frozenset())
            if request.headers.get("If-None-Exist"):
                self._check_single_match(segments[0], request.headers["If-None-Exist"])
        if method == "PUT" and len(segments) == 2 and isinstance(body, dict):
            self._check_references(body, frozenset({path}))
            if request.headers.get("If-Match"):
                self._check_version(path, request.headers["If-Match"])
        if method == "DELETE" and len(segments) == 2:
            self._check_unreferenced(path)
        return self._forward(request, path)

    def _forward(self, request: Request, path: str) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        data = request.get_data().replace(self.base_url.encode(), self.backend.encode())
        answer = self.http.request(
            request.method,
            f"{self.backend}/{path}" if path else self.backend,
            params=list(request.args.items(multi=True)),
            data=data or None,
            headers=headers,
            timeout=60,
            allow_redirects=False,
        )
        content = answer.content.replace(self.backend.encode(), self.base_url.encode())
        keep = ("Content-Type", "ETag", "Location", "Content-Location", "Last-Modified")
        out = {k: answer.headers[k].replace(self.backend, self.base_url) for k in keep if k in answer.headers}
        return Response(content, status=answer.status_code, headers=out)

    # -- searches --------------------------------------------------------------------------
    def _check_params(self, resource_type: str, params: Params) -> None:
        """HAPI refuses what it cannot search on, rather than ignoring it.

        - Unknown parameters: InvalidRequestException (400) "Unknown search parameter \"foo\"
          for resource type \"Patient\". Valid search parameters for this search are: ..."
          (hapi-fhir-jpaserver-base search parameter validation; the message is asserted in
          hapi-fhir-jpaserver-test-r4 ResourceProviderR4Test).
        - `:missing` when JpaStorageSettings.getIndexMissingFields() is DISABLED, the default:
          MethodNotAllowedException, HTTP 405, Msg.code(985) ":missing modifier is disabled on
          this server" (BaseHapiFhirResourceDao.searchForIds / search).
        """
        known = self._known.get(resource_type, frozenset()) | COMMON_PARAMS | RESULT_PARAMS
        for name, _ in params:
            if name.endswith(":missing"):
                raise Refused(405, "HAPI-0985: :missing modifier is disabled on this server", "not-supported")
            base = name.split(":")[0].split(".")[0]
            if name in RESULT_PARAMS or base in known or name.startswith("_has:"):
                continue
            raise Refused(
                400,
                f'Unknown search parameter "{base}" for resource type "{resource_type}". '
                f"Valid search parameters for this search are: {sorted(known)}",
            )

    def _search(self, resource_type: str, params: Params, *, no_cache: bool) -> Resource:
        """A search, answered from the cache when HAPI would reuse an earlier identical one.

        JpaStorageSettings.DEFAULT_REUSE_CACHED_SEARCH_RESULTS_FOR_MILLIS is one minute
        (hapi-fhir-jpaserver-model .../JpaStorageSettings.java); SearchCoordinatorSvcImpl skips
        the reuse when the request's CacheControlDirective says no-cache.
        """
        self._check_params(resource_type, params)
        key = (resource_type, tuple(sorted(params)))
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached and not no_cache and now - cached.at < self.cache_seconds:
                self.stats.cache_hits += 1
                return copy.deepcopy(cached.bundle)
        size = self._page_size(params)
        search_id = uuid.uuid4().hex
        search = _Search(resource_type, [(k, v) for k, v in params if k != "_count"], size, now)
        bundle = self._backend_page(search, search_id, 0, params)
        with self._lock:
            self._searches[search_id] = search
            self._cache[key] = _Cached(copy.deepcopy(bundle), now)
        return bundle

    def _page_size(self, params: Params) -> int:
        asked = dict(params).get("_count")
        size = int(asked) if asked and asked.isdigit() else self.default_page_size
        return max(0, min(size, self.max_page_size))

    def _page(self, args: Any) -> Resource:
        """A `_getpages` link: HAPI keeps the search's results for a while, then answers 410.

        PageMethodBinding throws ResourceGoneException ("Search ID ... does not exist and may
        have expired") once the search is gone (JpaStorageSettings.setExpireSearchResultsAfterMillis,
        one hour by default).
        """
        search_id = str(args.get("_getpages"))
        with self._lock:
            search = self._searches.get(search_id)
        if search is None or self.clock() - search.created > self.search_lifetime:
            raise Refused(410, f'Search ID "{search_id}" does not exist and may have expired')
        offset = int(args.get("_getpagesoffset", "0"))
        size = min(int(args.get("_count", search.page_size)), self.max_page_size)
        return self._backend_page(search, search_id, offset, [*search.params, ("_count", str(size))])

    def _backend_page(self, search: _Search, search_id: str, offset: int, params: Params) -> Resource:
        size = self._page_size(params)
        query = [(k, v) for k, v in search.params if k != "_offset"] + [
            ("_count", str(size)),
            ("_offset", str(offset)),
        ]
        answer = self.http.get(f"{self.backend}/{search.resource_type}", params=query, timeout=60)
        bundle = _rebase(answer.json(), self.backend, self.base_url)
        if answer.status_code >= 400:
            raise Refused(answer.status_code, "the backing server refused the search", outcome=bundle)
        return self._hapi_links(bundle, search, search_id, offset, size)

    def _hapi_links(
        self, bundle: Resource, search: _Search, search_id: str, offset: int, size: int
    ) -> Resource:
        """HAPI's paging links and no total unless asked (search.html#total: optional)."""
        asked = dict(search.params)
        if asked.get("_summary") != "count" and asked.get("_total") not in {"accurate", "estimate"}:
            bundle.pop("total", None)
        had_next = any(link.get("relation") == "next" for link in bundle.get("link") or [])

        def page(at: int) -> str:
            query = {
                "_getpages": search_id,
                "_getpagesoffset": at,
                "_count": size,
                "_bundletype": "searchset",
            }
            return f"{self.base_url}?{urlencode(query)}"

        links = [{"relation": "self", "url": page(offset)}]
        if had_next and size:
            links.append({"relation": "next", "url": page(offset + size)})
        if offset > 0:
            links.append({"relation": "previous", "url": page(max(0, offset - size))})
        bundle["link"] = links
        return bundle

    # -- batch and transaction -------------------------------------------------------------
    def _bundle(self, bundle: Resource, *, no_cache: bool) -> tuple[int, Resource]:
        """A batch or transaction, its entries checked like the requests they stand for.

        Sub-requests inherit the batch POST's headers: ServletSubRequestDetails copies every
        header of the parent request (hapi-fhir-server .../servlet/ServletSubRequestDetails.java),
        so a batch's GET entries reuse cached searches unless the POST said no-cache. A failed
        transaction entry fails the whole transaction; a failed batch entry fails only itself.
        """
        entries = bundle.get("entry") or []
        transaction = bundle.get("type") == "transaction"
        targets = frozenset(
            [str(e.get("fullUrl")) for e in entries if e.get("fullUrl")]
            + [str((e.get("request") or {}).get("url")) for e in entries if _method(e) == "PUT"]
        )
        answers: dict[int, Resource] = {}
        forward: list[tuple[int, Resource]] = []
        searches: list[int] = []
        for index, entry in enumerate(entries):
            try:
                if _method(entry) == "GET" and _is_search(entry):
                    searches.append(index)
                    if not transaction:
                        self._answer_search(entry, index, answers, no_cache)
                    continue
                self._check_entry(entry, targets)
                forward.append((index, entry))
            except Refused as refused:
                if transaction:
                    raise
                self._refused_entry(refused, index, answers)
        if forward:
            sent = {**bundle, "entry": [entry for _, entry in forward]}
            data = json.dumps(sent).replace(self.base_url, self.backend)
            answer = self.http.post(
                self.backend,
                data=data,
                headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=representation"},
                timeout=120,
            )
            body = _rebase(answer.json(), self.backend, self.base_url)
            if answer.status_code >= 400:
                return answer.status_code, body
            for (index, _), got in zip(forward, body.get("entry") or [], strict=False):
                answers[index] = got
        if transaction:
            # A transaction's GET entries run after its writes are committed, so they see them
            # (BaseTransactionProcessor.processTransaction: "perform all gets ... last so that the
            # gets happen on the final state of the DB"); a failed GET fails only its own entry
            # (doTransactionReadOperations sets the entry's status and OperationOutcome).
            for index in searches:
                try:
                    self._answer_search(entries[index], index, answers, no_cache)
                except Refused as refused:
                    self._refused_entry(refused, index, answers)
        kind = "transaction-response" if transaction else "batch-response"
        return 200, {
            "resourceType": "Bundle",
            "id": uuid.uuid4().hex,
            "type": kind,
            "entry": [answers.get(i, {"response": {"status": "500"}}) for i in range(len(entries))],
        }

    def _answer_search(
        self, entry: Resource, index: int, answers: dict[int, Resource], no_cache: bool
    ) -> None:
        rtype, params = _split(str(entry["request"]["url"]))
        answers[index] = {
            "resource": self._search(rtype, params, no_cache=no_cache),
            "response": {"status": "200 OK"},
        }

    def _refused_entry(self, refused: Refused, index: int, answers: dict[int, Resource]) -> None:
        self.stats.refused.append(refused.status)
        status = f"{refused.status} {REASONS.get(refused.status, '')}".strip()
        answers[index] = {"response": {"status": status, "outcome": refused.outcome}}

    def _check_entry(self, entry: Resource, targets: frozenset[str]) -> None:
        request = entry.get("request") or {}
        method, url = _method(entry), str(request.get("url", ""))
        resource = entry.get("resource")
        if method in {"POST", "PUT"} and isinstance(resource, dict):
            self._check_references(resource, targets)
        if method == "POST" and request.get("ifNoneExist"):
            self._check_single_match(url.split("?")[0], str(request["ifNoneExist"]))
        if method == "PUT" and request.get("ifMatch"):
            self._check_version(url, str(request["ifMatch"]))
        if method == "PATCH":
            self._check_patch(url, request, resource, targets)
        if method == "DELETE":
            self._check_unreferenced(url)

    def _check_patch(self, url: str, request: Resource, body: Any, targets: frozenset[str]) -> None:
        """A transaction's PATCH entry as HAPI processes it (BaseTransactionProcessor, case
        "PATCH"): the body is a Binary whose contentType names the patch type; the JSON Patch is
        applied to the current resource (JsonPatchUtils.apply) and the result saved as an update,
        with referential integrity.

        - A patch that cannot be applied, a failed `test` operation included: InvalidRequestException,
          HTTP 400, Msg.code(1272) (JsonPatchUtils; sekmet-fhir answers 422).
        - `request.ifMatch` on a PATCH entry: HAPI 5.x-6.x pass it to the DAO as the conditional
          match URL (BaseTransactionProcessor.toMatchUrl returns getEntryRequestIfMatch for
          PATCH), so it fails with 400 HAPI-0518 "Invalid match URL[Task?W/"1"] - URL has no
          search parameters" (hapi-fhir issue 3575). The app tests the version in the patch
          document instead.
        """
        if request.get("ifMatch"):
            raise Refused(
                400,
                f"HAPI-0518: Invalid match URL[{url.split('/')[0]}?{request['ifMatch']}] - "
                "URL has no search parameters",
            )
        if not isinstance(body, dict) or body.get("resourceType") != "Binary":
            return  # FHIRPath Patch (Parameters): forwarded as it is
        try:
            operations = json.loads(base64.b64decode(str(body.get("data") or "")))
        except ValueError:
            raise Refused(400, "HAPI-1272: the patch body is not JSON") from None
        current = self.http.get(f"{self.backend}/{url}", timeout=30)
        if current.status_code != 200:
            raise Refused(404, f"HAPI-2001: Resource {url} is not known")
        try:
            patched = jsonpatch.apply_patch(current.json(), operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise Refused(400, f"HAPI-1272: {exc}") from None
        self._check_references(patched, targets | {url})

    # -- write checks ----------------------------------------------------------------------
    def _check_version(self, path: str, if_match: str) -> None:
        """A stale If-Match: ResourceVersionConflictException, HTTP 409, Msg.code(989) "Trying to
        update ... but this is not the current version" (BaseHapiFhirResourceDao.update); the
        spec's 412 is not what HAPI sends."""
        wanted = if_match.removeprefix("W/").strip('"')
        current = self.http.get(f"{self.backend}/{path}", timeout=30)
        if current.status_code != 200:
            return
        version = (current.json().get("meta") or {}).get("versionId")
        if version is not None and version != wanted:
            raise Refused(
                409,
                f"HAPI-0989: Trying to update {path}/_history/{wanted} but this is not the current version",
            )

    def _check_single_match(self, resource_type: str, criteria: str) -> None:
        """More than one match for ifNoneExist: PreconditionFailedException, HTTP 412,
        "invalidMatchUrlMultipleMatches" (BaseStorageDao / TransactionDetails, Msg.code(1092))."""
        params = [*parse_qsl(criteria.split("?", 1)[-1], keep_blank_values=True), ("_count", "2")]
        found = self.http.get(f"{self.backend}/{resource_type}", params=params, timeout=30).json()
        matches = [e for e in found.get("entry") or [] if (e.get("search") or {}).get("mode") != "include"]
        if len(matches) > 1:
            raise Refused(
                412,
                f"HAPI-1092: Failed to process conditional create. The supplied criteria "
                f"({resource_type}?{criteria}) matched multiple resources",
            )

    def _check_references(self, resource: Resource, local: frozenset[str]) -> None:
        """Referential integrity on write (JpaStorageSettings.isEnforceReferentialIntegrityOnWrite,
        true by default): InvalidRequestException, HTTP 400, Msg.code(1094) "Resource X/1 not
        found, specified in path: Observation.subject" (hapi-fhir-jpaserver-base DaoResourceLinkResolver)."""
        for path, reference in _references(resource, resource.get("resourceType", "")):
            if reference in local or reference.startswith(("urn:", "#")):
                continue
            if "://" in reference:
                if not reference.startswith(self.base_url + "/"):
                    continue  # an absolute reference elsewhere is not this server's to resolve
                reference = reference[len(self.base_url) + 1 :]
            match = _REFERENCE.match(reference)
            if match is None:
                continue
            target = f"{match.group(1)}/{match.group(2)}"
            if target in local:
                continue
            if self.http.get(f"{self.backend}/{target}", timeout=30).status_code != 200:
                raise Refused(400, f"HAPI-1094: Resource {target} not found, specified in path: {path}")

    def _check_unreferenced(self, path: str) -> None:
        """Deleting a referenced resource: ResourceVersionConflictException, HTTP 409, "Unable to
        delete X/1 because at least one resource has a reference to this resource. First reference
        found was resource Y/2 in path Y.z" (DeleteConflictService, Msg.code(515))."""
        for rtype in SCANNED_TYPES:
            for param in self._reference_params.get(rtype, []):
                found = self.http.get(
                    f"{self.backend}/{rtype}", params={param: path, "_count": "1"}, timeout=30
                ).json()
                for entry in found.get("entry") or []:
                    source = entry.get("resource") or {}
                    raise Refused(
                        409,
                        f"HAPI-0515: Unable to delete {path} because at least one resource has a reference "
                        f"to this resource. First reference found was resource {rtype}/{source.get('id')} "
                        f"in path {rtype}.{param}",
                    )


# -- helpers --------------------------------------------------------------------------------
class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _json_response(status: int, body: Resource) -> Response:
    return Response(json.dumps(body), status=status, content_type=FHIR_JSON)


def _no_cache(value: str | None) -> bool:
    return bool(value) and "no-cache" in str(value).lower()


def _method(entry: Resource) -> str:
    return str((entry.get("request") or {}).get("method", "")).upper()


def _is_search(entry: Resource) -> bool:
    path = urlsplit(str(entry["request"]["url"])).path.strip("/")
    return "/" not in path and path not in {"", "metadata"}


def _split(url: str) -> tuple[str, Params]:
    parts = urlsplit(url)
    return parts.path.strip("/"), parse_qsl(parts.query, keep_blank_values=True)


def _rebase(body: Any, old: str, new: str) -> Resource:
    return json.loads(json.dumps(body).replace(old, new)) if isinstance(body, dict) else {}


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(element path, reference) for every Reference.reference in a resource, contained skipped."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "contained":
                continue
            if key == "reference" and isinstance(item, str):
                yield path, item
            else:
                yield from _references(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, path)
