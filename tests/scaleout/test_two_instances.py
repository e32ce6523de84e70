"""Issue 11: two `fhir-rehab serve` instances (2 workers each) with Redis sessions behind nginx
(round-robin). EHR launches and clinician forms go through the balancer; one instance is
killed in the middle of a launch and in the middle of a token refresh: no session is lost, the
token is refreshed once, no form fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import SandboxStack
from ehr_sandbox.served_app import ServedApp
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from tests.web.test_redis_sessions import redis_url  # noqa: F401 - the module's Redis fixture

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD = re.compile(r'name="(submission_id|patient)" value="([^"]+)"')
ALL_ABSENT = {key: "absent" for key in RED_FLAG_KEYS}
TOKEN_LIFETIME = 90  # the sandbox's access tokens
REFRESH_LEEWAY = 80  # so a token is due for refresh 10 s after it was issued


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail("nginx is needed: apt-get install -y nginx-light (scripts/test does this)")
    return found


def wait_for(url: str, timeout: float = 60) -> None:
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
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;" for p in upstreams)
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
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
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


class Balanced:
    """The stack, the two instances (restartable) and how they were started."""

    def __init__(self, stack: SandboxStack, ports: list[int], env: dict[str, str], tmp: Path) -> None:
        self.stack, self.ports, self.env, self.tmp = stack, ports, env, tmp
        self.instances = [self.start(p) for p in ports]

    def start(self, port: int) -> ServedApp:
        return ServedApp(port, self.env, self.tmp / f"instance-{port}-{time.monotonic_ns()}.log")

    def restart_dead(self) -> None:
        for index, instance in enumerate(self.instances):
            if instance.proc.poll() is not None:
                instance.stop()
                self.instances[index] = self.start(instance.port).wait_ready()


@pytest.fixture(scope="module")
def balanced(redis_url, tmp_path_factory) -> Iterator[Balanced]:  # noqa: F811
    nginx_port, ports = free_port(), [free_port(), free_port()]
    tmp = tmp_path_factory.mktemp("balanced")
    with SandboxStack(
        auto_approve=True,
        start_app=False,
        app_port=nginx_port,  # the app's public address is the balancer's
        access_token_lifetime=TOKEN_LIFETIME,
    ) as stack:
        env = {
            "FHIR_REHAB_SECRET_KEY": "one-key-for-every-instance",
            "FHIR_REHAB_SESSION_REDIS_URL": redis_url,
            "FHIR_REHAB_PUBLIC_URL": stack.app_url,
            "FHIR_REHAB_ISS_ALLOWLIST": stack.fhir_base,
            "FHIR_REHAB_CLIENT_ID": stack.client_id,
            "FHIR_REHAB_TOKEN_REFRESH_LEEWAY_SECONDS": str(REFRESH_LEEWAY),
        }
        running = Balanced(stack, ports, env, tmp)
        nginx = Nginx(nginx_port, ports, tmp / "nginx")
        try:
            for instance in running.instances:
                instance.wait_ready()
            wait_for(f"{stack.app_url}/static/app.css")
            yield running
        finally:
            nginx.stop()
            for instance in running.instances:
                instance.stop()


class Clinician:
    def __init__(self, stack: SandboxStack) -> None:
        self.stack, self.http = stack, requests.Session()

    def launch(self, patient_id: str) -> requests.Response:
        return self.http.get(
            f"{self.stack.sandbox_url}/ehr/launch", params={"patient": patient_id}, timeout=60
        )

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.stack.app_url}{path}", timeout=60)

    def post_form(self, page: str, action: str, data: dict[str, str]) -> requests.Response:
        html = self.get(page).text
        fields = {"csrf_token": CSRF.search(html).group(1), **dict(FIELD.findall(html))}
        return self.http.post(f"{self.stack.app_url}{action}", data={**fields, **data}, timeout=60)


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

    # Kill one instance in the middle of a launch: /launch went through the balancer, the
    # callback must complete on whichever instance is left.
    late = Clinician(stack)
    start = late.http.get(
        f"{stack.sandbox_url}/ehr/launch", params={"patient": alex}, allow_redirects=False, timeout=30
    )
    hops = [start]
    while hops[-1].is_redirect and "/launch/callback" not in hops[-1].headers["Location"]:
        hops.append(late.http.get(hops[-1].headers["Location"], allow_redirects=False, timeout=30))
    instances[0].kill()
    done = late.http.get(hops[-1].headers["Location"], timeout=60)
    assert done.status_code == 200 and done.url.endswith("/patient"), done.text[:300]

    # Every session started before the death is still signed in, and its forms work.
    for person in people:
        assert person.get("/patient").status_code == 200
        pained = person.post_form("/patient", "/patient/screen", ALL_ABSENT)
        assert pained.status_code == 200, pained.text[:300]


def burst(person: Clinician, count: int = 8, during=None) -> list[int]:
    """`count` parallel page loads of one session (several tabs), `during` run meanwhile."""
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(person.get("/patient").status_code))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    for thread in threads:
        thread.join()
    return results


def test_an_instance_dies_in_the_middle_of_a_token_refresh(balanced) -> None:
    stack = balanced.stack
    balanced.restart_dead()  # two live instances again
    person = Clinician(stack)
    assert person.launch(stack.patients[0].patient_id).status_code == 200

    # Both instances alive: parallel requests at expiry on both instances refresh exactly once.
    before = refreshes(stack)
    time.sleep(TOKEN_LIFETIME - REFRESH_LEEWAY + 1)  # the token is now due for a refresh
    assert burst(person) == [200] * 8
    assert refreshes(stack) - before == 1

    # Again at expiry, and one instance dies while the refresh is in flight (the sandbox's
    # token endpoint is slowed so the death falls inside it): every request is answered, the
    # session survives, the next form works. If the dead instance was the refresher, its new
    # token died with it and the survivor refreshes once more (the lock expires); never more.
    token_endpoint = stack.sandbox_app.view_functions["sandbox_auth.issue_token"]

    def slow_token_endpoint():
        time.sleep(1.5)
        return token_endpoint()

    stack.sandbox_app.view_functions["sandbox_auth.issue_token"] = slow_token_endpoint
    try:
        before = refreshes(stack)
        time.sleep(TOKEN_LIFETIME - REFRESH_LEEWAY + 1)
        results = burst(person, during=lambda: (time.sleep(0.7), balanced.instances[0].kill()))
    finally:
        stack.sandbox_app.view_functions["sandbox_auth.issue_token"] = token_endpoint
    assert results == [200] * 8
    assert 1 <= refreshes(stack) - before <= 2
    form = person.post_form("/patient", "/patient/screen", ALL_ABSENT)
    assert form.status_code == 200 and "no red flags present" in form.text
