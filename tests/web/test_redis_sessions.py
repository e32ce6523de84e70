"""Tokens live server side in Redis when FHIR_REHAB_SESSION_REDIS_URL is set."""

import shutil
import subprocess
import time

import pytest
import redis

from ehr_sandbox.fhir_server import free_port
from ehr_sandbox.runner import SandboxStack
from tests.web.conftest import Browser


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed: apt-get install -y redis-server (scripts/test does this)")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:  # readiness poll
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_launch_with_redis_session_store(redis_url):
    store = redis.Redis.from_url(redis_url)
    with SandboxStack(auto_approve=True, app_config={"SESSION_REDIS_URL": redis_url}) as stack:
        browser = Browser(stack)
        page = browser.launch("eligible-icd10")
        assert page.status_code == 200 and "Eligible." in page.text
        keys = store.keys("session:*")
        assert keys, "the session must live in Redis"
        stored = b"".join(store.get(k) or b"" for k in keys)
        cookie = next(c for c in browser.http.cookies if c.name == "fhir_rehab_session")
        assert b"access_token" in stored or b"smart_token" in stored
        assert len(cookie.value) < 80  # an opaque session id, not a token
        assert cookie.has_nonstandard_attr("HttpOnly")


def test_refresh_lock_holds_across_workers(redis_url):
    """Two app processes (two lock objects on one Redis): while one refreshes, the other waits."""
    from fhir_rehab import create_app
    from fhir_rehab.launch.runtime import get_runtime
    from fhir_rehab.launch.store import RedisSessionLocks

    worker_a = get_runtime(create_app({"SESSION_REDIS_URL": redis_url, "SECRET_KEY": "x"})).locks
    worker_b = RedisSessionLocks(redis.Redis.from_url(redis_url), wait=0)
    assert isinstance(worker_a, RedisSessionLocks)
    probe = redis.Redis.from_url(redis_url).lock(RedisSessionLocks.PREFIX + "sid-1", timeout=5)
    with worker_a.hold("sid-1"):
        assert not probe.acquire(blocking=False)  # held across processes
        with worker_b.hold("sid-2"):  # another session is not blocked
            pass
    assert probe.acquire(blocking=False)  # released
    probe.release()
