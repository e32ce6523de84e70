"""Issue 11: two `fhir-rehab serve` instances (2 workers each) with Redis sessions behind nginx
(round-robin). EHR launches and clinician forms go through the balancer; one instance is
killed in the middle of a launch and in the middle of a token refresh.

No sleeps decide anything here: a token is made due for refresh by moving its stored expiry,
and the sandbox's token endpoint holds the refresh at the point the test chooses (before the
authorization server acts, or after it has issued the new tokens) until the test has stopped
or killed the instance that sent it. What each kind of death guarantees (README, Deployment):
- graceful stop (SIGTERM: a balancer drain, a rolling restart): the refresh in flight completes
  and its tokens are stored; exactly one refresh; the form in flight is answered;
- SIGKILL before the authorization server acted: exactly one refresh, by the survivor;
- SIGKILL after it issued the tokens but before the app stored them: the new tokens are lost
  with the process, no client can avoid that; the survivor refreshes once more (exactly two)
  with the stored refresh token, and the session and the form survive where the server
  accepts that refresh token again (as the sandbox, which does not rotate them, does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Response, request

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import SandboxStack
from ehr_sandbox.served_app import ServedApp
from fhir_rehab import codes as c
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.runtime import get_session_store
from fhir_rehab.launch.store import TOKEN_KEY, SessionStore
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from tests.web.test_redis_sessions import redis_url  # noqa: F401 - the module's Redis fixture

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD = re.compile(r'name="(submission_id|patient)" value="([^"]+)"')
ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}
COOKIE = "fhir_rehab_session"
TIMEOUT = 120  # a generous bound on any one wait: up to 6 test suites share 2 cores
TOKEN_ENDPOINT = "sandbox_auth.issue_token"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail("nginx is needed: apt-get install -y nginx-light (scripts/test does this)")
    return found


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)  # polling a condition, not a timing assumption


def wait_for(url: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)  # readiness poll
    raise AssertionError(f"{url} did not answer")


class Nginx:
    """nginx on loopback with its own prefix, config and temp folders (no system service)."""

    def __init__(self, port: int, upstreams: list[int], prefix: Path) -> None:
        prefix.mkdir(parents=True, exist_ok=True)
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""  # never serve as root
        # max_fails=0: a dead instance is never marked down for a while, each request that
        # finds it dead goes on to the next one (proxy_next_upstream), so no request ever meets
        # "no live upstreams" because both were marked down within one second.
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
        temp = {name: prefix / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
            path.chmod(0o777)
        (prefix / "nginx.conf").write_text(
            f"""{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {prefix}/access.log;
  client_body_temp_path {temp["body"]};
  proxy_temp_path {temp["proxy"]};
  fastcgi_temp_path {temp["fastcgi"]};
  uwsgi_temp_path {temp["uwsgi"]};
  scgi_temp_path {temp["scgi"]};
  upstream app {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_set_header Host $http_host;
      # Forms too are re-sent to the other instance when one dies before answering: every
      # form write is idempotent (a conditional create keyed on the form's submission id, or
      # If-Match), so a second delivery records nothing twice (README, Deployment).
      proxy_next_upstream error timeout http_502 non_idempotent;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 120s;
    }}
  }}
}}
"""
        )
        self.proc = subprocess.Popen(  # noqa: S603
            [
                nginx_binary(),
                "-p",
                str(prefix),
                "-c",
                str(prefix / "nginx.conf"),
                "-e",
                str(prefix / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


class RefreshGate:
    """The sandbox's token endpoint, able to hold one refresh grant where the test chooses.

    - HOLD_BEFORE: held before the authorization server acts, then answered normally;
    - DROP: held, then never acted on (the request was lost with the instance that sent it);
    - HOLD_AFTER: the server issues the new tokens, then the answer is held before it is sent;
    - HOLD_AFTER_ROTATING: the same, and the server then refuses the refresh token it renewed,
      as a server that rotates refresh tokens with reuse detection does (the sandbox's own
      refresh tokens do not rotate).
    `arrived` is set once the refresh is held (its connection's ports in `sender`); nothing
    goes on until the test sets `release`.
    """

    HOLD_BEFORE, DROP, HOLD_AFTER = "hold-before", "drop", "hold-after"
    HOLD_AFTER_ROTATING = "hold-after-rotating"

    def __init__(self, stack: SandboxStack) -> None:
        self.views = stack.sandbox_app.view_functions
        self.real = self.views[TOKEN_ENDPOINT]
        self.guard = threading.Lock()
        self.mode: str | None = None
        self.arrived, self.release = threading.Event(), threading.Event()
        self.sender = (0, 0)  # the held request's (client port, server port) on loopback
        self.spent: set[str] = set()  # refresh tokens refused from now on (rotation)
        self.views[TOKEN_ENDPOINT] = self

    def arm(self, mode: str) -> None:
        self.arrived.clear()
        self.release.clear()
        self.mode = mode

    def __call__(self) -> Any:
        refresh_token = request.form.get("refresh_token", "")
        with self.guard:  # only the first refresh grant after arm() is held
            mode = self.mode if request.form.get("grant_type") == "refresh_token" else None
            if mode is not None:
                self.mode = None
        if refresh_token in self.spent:
            return Response('{"error": "invalid_grant"}', status=400, content_type="application/json")
        if mode is None:
            return self.real()
        answer = self.real() if mode in (self.HOLD_AFTER, self.HOLD_AFTER_ROTATING) else None
        if mode == self.HOLD_AFTER_ROTATING:
            self.spent.add(refresh_token)
        self.sender = (int(request.environ["REMOTE_PORT"]), int(request.environ["SERVER_PORT"]))
        self.arrived.set()
        assert self.release.wait(TIMEOUT)
        if mode == self.DROP:
            return Response(status=503)
        return answer if answer is not None else self.real()

    def close(self) -> None:
        self.views[TOKEN_ENDPOINT] = self.real


def process_with_connection(ports: tuple[int, int], candidates: set[int]) -> int:
    """Which of the `candidates` (pids) owns the TCP socket from local port `ports[0]` to remote
    port `ports[1]` (both ports: Linux reuses a local port for connections to other peers)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
            if (local, remote) == ports:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in candidates:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue  # the process has gone
        if links & inodes:
            return pid
    raise AssertionError(f"no app worker owns the connection {ports}")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


class Balanced:
    """The stack, the two instances (restartable), their shared session store and the gate."""

    def __init__(self, stack: SandboxStack, ports: list[int], env: dict[str, str], tmp: Path) -> None:
        self.stack, self.ports, self.env, self.tmp = stack, ports, env, tmp
        self.instances = [self.start(p) for p in ports]
        self.gate = RefreshGate(stack)
        # The instances' session store, reached as they reach it (same settings, same Redis).
        self.sessions: SessionStore = get_session_store(
            create_app(
                {
                    "SECRET_KEY": env["FHIR_REHAB_SECRET_KEY"],
                    "SESSION_REDIS_URL": env["FHIR_REHAB_SESSION_REDIS_URL"],
                    "PUBLIC_URL": stack.app_url,
                    "ISS_ALLOWLIST": [stack.fhir_base],
                    "CLIENT_ID": stack.client_id,
                }
            )
        )

    def start(self, port: int) -> ServedApp:
        return ServedApp(port, self.env, self.tmp / f"instance-{port}-{time.monotonic_ns()}.log")

    def restart_dead(self) -> None:
        for index, instance in enumerate(self.instances):
            if instance.proc.poll() is not None:
                instance.stop()
                self.instances[index] = self.start(instance.port).wait_ready(TIMEOUT)

    def instance_sending(self, ports: tuple[int, int]) -> ServedApp:
        """The instance one of whose workers has the connection `ports` open."""
        workers = {pid: app for app in self.instances for pid in children_of(app.proc.pid)}
        return workers[process_with_connection(ports, set(workers))]

    def make_due(self, person: Clinician) -> None:
        """Make the session's access token due for refresh now, as time passing would: its
        stored expiry moves to 30 s from now (inside the 60 s refresh leeway; the token itself
        stays valid at the authorization server)."""
        sid = person.http.cookies.get(COOKIE)
        stored = self.sessions.load(sid) if sid else None
        assert stored is not None and stored.get(TOKEN_KEY), "no signed-in session to age"
        stored[TOKEN_KEY] = {**stored[TOKEN_KEY], "expires_at": time.time() + 30}
        self.sessions.save(sid, stored)


@pytest.fixture(scope="module")
def balanced(redis_url, tmp_path_factory) -> Iterator[Balanced]:  # noqa: F811
    nginx_port, ports = free_port(), [free_port(), free_port()]
    tmp = tmp_path_factory.mktemp("balanced")
    with SandboxStack(
        auto_approve=True,
        start_app=False,
        app_port=nginx_port,  # the app's public address is the balancer's
    ) as stack:
        env = {
            "FHIR_REHAB_SECRET_KEY": "one-key-for-every-instance",
            "FHIR_REHAB_SESSION_REDIS_URL": redis_url,
            "FHIR_REHAB_PUBLIC_URL": stack.app_url,
            "FHIR_REHAB_ISS_ALLOWLIST": stack.fhir_base,
            "FHIR_REHAB_CLIENT_ID": stack.client_id,
        }
        running = Balanced(stack, ports, env, tmp)
        nginx = Nginx(nginx_port, ports, tmp / "nginx")
        try:
            for instance in running.instances:
                instance.wait_ready(TIMEOUT)
            wait_for(f"{stack.app_url}/static/app.css")
            yield running
        finally:
            running.gate.close()
            nginx.stop()
            for instance in running.instances:
                instance.stop()


class Clinician:
    def __init__(self, stack: SandboxStack) -> None:
        self.stack, self.http = stack, requests.Session()

    def launch(self, patient_id: str) -> requests.Response:
        return self.http.get(
            f"{self.stack.sandbox_url}/ehr/launch", params={"patient": patient_id}, timeout=TIMEOUT
        )

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.stack.app_url}{path}", timeout=TIMEOUT)

    def form_fields(self, page: str) -> dict[str, str]:
        html = self.get(page).text
        return {"csrf_token": CSRF.search(html).group(1), **dict(FIELD.findall(html))}

    def post(self, action: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(f"{self.stack.app_url}{action}", data=data, timeout=TIMEOUT)

    def post_form(self, page: str, action: str, data: dict[str, str]) -> requests.Response:
        return self.post(action, {**self.form_fields(page), **data})


def main_text(page: requests.Response) -> str:
    """The page's <main>, for assertion messages."""
    text = page.text
    return f"{page.status_code} {page.url} " + text[text.find("<main") : text.find("</main>")][:1500]


def refreshes(stack: SandboxStack) -> int:
    """Access tokens issued by refresh: every token of a grant after its first."""
    store = stack.runtime.store
    codes = [token.code for token in store._access.values()]
    return sum(codes.count(code) - 1 for code in set(codes))


def test_launches_and_forms_round_robin_and_an_instance_dies(balanced) -> None:
    stack, instances = balanced.stack, balanced.instances
    alex = stack.patients[0].patient_id
    people = [Clinician(stack) for _ in range(3)]
    for person in people:  # launches and forms spread over both instances by the balancer
        page = person.launch(alex)
        assert page.status_code == 200 and page.url.endswith("/patient"), page.text[:300]
        for _ in range(4):
            assert person.get("/patient").status_code == 200  # the session is found everywhere
        screened = person.post_form("/patient/screen", "/patient/screen", ALL_ABSENT)
        assert screened.status_code == 200 and "no red flags present" in screened.text

    # Kill the instance that started a launch before its callback: the callback completes on
    # the other one (the launch's state is in Redis). Which instance took /launch is read from
    # the instances' access logs.
    def launches_served() -> list[int]:
        return [instance.log_text().count('"GET /launch"') for instance in instances]

    late, before = Clinician(stack), launches_served()
    start = late.http.get(
        f"{stack.sandbox_url}/ehr/launch", params={"patient": alex}, allow_redirects=False, timeout=TIMEOUT
    )
    hops = [start]
    while hops[-1].is_redirect and "/launch/callback" not in hops[-1].headers["Location"]:
        hops.append(late.http.get(hops[-1].headers["Location"], allow_redirects=False, timeout=TIMEOUT))
    wait_until(lambda: launches_served() != before, "the launch was logged by the instance that took it")
    starter = next(i for i, (was, now) in enumerate(zip(before, launches_served(), strict=True)) if now > was)
    instances[starter].kill()
    done = late.http.get(hops[-1].headers["Location"], timeout=TIMEOUT)
    assert done.status_code == 200 and done.url.endswith("/patient"), done.text[:300]

    # Every session started before the death is still signed in, and its forms work.
    for person in people:
        assert person.get("/patient").status_code == 200
        pained = person.post_form("/patient", "/patient/screen", ALL_ABSENT)
        assert pained.status_code == 200, pained.text[:300]


def test_parallel_requests_of_one_session_at_expiry_refresh_once(balanced) -> None:
    """Both instances alive: 8 tabs of one session at expiry, spread over both instances and
    their 4 workers, and one refresh (the Redis lock; the others use its token)."""
    stack = balanced.stack
    balanced.restart_dead()
    person = Clinician(stack)
    assert person.launch(stack.patients[0].patient_id).status_code == 200
    balanced.make_due(person)
    before = refreshes(stack)
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda _: person.get("/patient").status_code, range(8)))
    assert pages == [200] * 8
    assert refreshes(stack) - before == 1


DEATHS = {  # how the refreshing instance dies -> (where the refresh is held, refreshes issued)
    "graceful-stop-sigterm": (RefreshGate.HOLD_BEFORE, 1),
    "sigkill-before-the-server-acted": (RefreshGate.DROP, 1),
    "sigkill-after-the-server-issued-the-tokens": (RefreshGate.HOLD_AFTER, 2),
}


def die_during_refresh(
    balanced: Balanced, mode: str
) -> tuple[Clinician, requests.Response, list[requests.Response], int, ServedApp, str]:
    """A form is posted through the balancer when its session's token is due; the instance that
    takes it starts the refresh and dies while it is held at the gate (SIGTERM for HOLD_BEFORE,
    SIGKILL otherwise), with six other tabs of the session on their way. Returns the clinician,
    the form's answer, the tabs' answers, the refreshes issued meanwhile, the dying instance and
    the form's submission id."""
    stack, gate = balanced.stack, balanced.gate
    balanced.restart_dead()
    person = Clinician(stack)
    assert person.launch(stack.patients[0].patient_id).status_code == 200
    form = {**person.form_fields("/patient/screen"), **ALL_ABSENT}  # read while the token is fresh
    balanced.make_due(person)
    before = refreshes(stack)
    gate.arm(mode)
    with ThreadPoolExecutor(max_workers=7) as pool:
        posted: Future[requests.Response] = pool.submit(person.post, "/patient/screen", form)
        assert gate.arrived.wait(TIMEOUT), "the form's refresh never reached the token endpoint"
        dying = balanced.instance_sending(gate.sender)
        tabs = [pool.submit(person.get, "/patient") for _ in range(6)]
        if mode == RefreshGate.HOLD_BEFORE:
            os.killpg(dying.proc.pid, signal.SIGTERM)  # master and workers, as a rolling restart
            wait_until(lambda: "Handling signal: term" in dying.log_text(), "the instance got SIGTERM")
        else:
            dying.kill()  # SIGKILL to master and workers
        gate.release.set()
        answer = posted.result(timeout=TIMEOUT)
        pages = [tab.result(timeout=TIMEOUT) for tab in tabs]
    return person, answer, pages, refreshes(stack) - before, dying, form["submission_id"]


@pytest.mark.parametrize("death", list(DEATHS))
def test_an_instance_dies_in_the_middle_of_a_token_refresh(balanced, death) -> None:
    """Every page and the form are answered, the session lives on, and the refreshes are exactly
    as many as the kind of death allows (module docstring)."""
    mode, expected_refreshes = DEATHS[death]
    person, answer, pages, refreshed, dying, submission = die_during_refresh(balanced, mode)
    # The form was answered with the overview (its "recorded" notice may have gone to one of
    # the tabs: a flash shows once, in whichever page of the session loads first) and the screen
    # is on the FHIR server once, however many times the balancer delivered the form.
    assert answer.status_code == 200 and answer.url.endswith("/patient"), main_text(answer)
    recorded = FhirClient(balanced.stack.backing_fhir_base).search_all(
        "Observation", {"identifier": f"{c.SUBMISSION_IDENTIFIER}|{submission}"}
    )
    codes = [json.dumps(obs["code"], sort_keys=True) for obs in recorded]
    assert codes and len(codes) == len(set(codes)), codes
    assert [page.status_code for page in pages] == [200] * 6
    assert refreshed == expected_refreshes
    if mode == RefreshGate.HOLD_BEFORE:
        assert dying.proc.wait(timeout=TIMEOUT) == 0  # it finished its requests and exited
    again = person.post_form("/patient", "/patient/screen", ALL_ABSENT)  # the session lives on
    assert again.status_code == 200 and "no red flags present" in again.text


def test_sigkill_after_the_issue_against_a_server_that_rotates_refresh_tokens(balanced) -> None:
    """The one case no client can save: the new tokens died with the instance and the server
    refuses the old refresh token. The session ends with the way back on every page (never a
    500), the form among them, and a relaunch works at once."""
    person, answer, pages, refreshed, _, _ = die_during_refresh(balanced, RefreshGate.HOLD_AFTER_ROTATING)
    assert refreshed == 1  # the lost one; the survivor's attempt was refused
    for page in (answer, *pages):
        says = page.text.lower()  # the session-ended or the launch-needed page: both say how back
        assert page.status_code == 401 and "open the app" in says and "the ehr" in says, page.text[:300]
    assert person.get("/patient").status_code == 401  # ended for good, not half alive
    assert person.launch(balanced.stack.patients[0].patient_id).status_code == 200
    again = person.post_form("/patient", "/patient/screen", ALL_ABSENT)
    assert again.status_code == 200 and "no red flags present" in again.text
