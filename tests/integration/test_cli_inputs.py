"""Issue 11: the CLI checks every input at the edge (clear message, exit 2, no traceback), takes
the token from the environment or a file, and a redirect is a FHIR error (exit 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses

from fhir_rehab.cli import main

BASE = "https://ehr.example.org/fhir"
EMPTY_SEARCH = {"resourceType": "Bundle", "type": "searchset", "entry": []}


def patient_bundle(request):
    """A batch-response answering every entry: the patient first, then empty searches."""
    entries = json.loads(request.body)["entry"]
    answer = [{"resource": {"resourceType": "Patient", "id": "p1"}, "response": {"status": "200 OK"}}]
    answer += [{"resource": EMPTY_SEARCH, "response": {"status": "200 OK"}} for _ in entries[1:]]
    return 200, {}, json.dumps({"resourceType": "Bundle", "type": "batch-response", "entry": answer})


@pytest.mark.parametrize(
    "base,says",
    [
        ("notaurl", "http:// or https://"),
        ("http://", "no host"),
        ("ftp://ehr.example.org/fhir", "http:// or https://"),
        ("http://[::1", "not a valid URL"),
        ("http://ehr.example.org:99999/fhir", "not a valid URL"),
        ("https://user:pw@ehr.example.org/fhir", "no user name or password"),
        ("https://ehr.example.org/fhir?x=1", "query or fragment"),
    ],
)
def test_a_bad_fhir_base_is_a_usage_error_with_a_clear_message(capsys, base, says):
    assert main(["show", "--fhir-base", base, "--patient", "p1"]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf", "soon"])
def test_a_bad_timeout_is_a_usage_error(capsys, timeout):
    assert main(["show", "--fhir-base", BASE, "--patient", "p1", "--timeout", timeout]) == 2
    assert "timeout must be a number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize("patient", ["", " ", "p1&_id=x", "a/b", "x" * 65, "p1\n"])
@pytest.mark.parametrize("command", [["show"], ["pain", "--score", "3"], ["screen"]])
@responses.activate
def test_a_bad_patient_id_is_refused_before_any_request(capsys, patient, command):
    code = main([*command, "--fhir-base", BASE, "--patient", patient])
    assert code == 2
    assert "Patient id" in capsys.readouterr().err
    assert len(responses.calls) == 0


@pytest.mark.parametrize("submission", ["x&_id=obs-1", "", "a b", "a|b", "x" * 65])
@responses.activate
def test_a_bad_submission_id_is_refused_before_any_request(capsys, submission):
    code = main(
        ["pain", "--fhir-base", BASE, "--patient", "p1", "--score", "1", "--submission-id", submission]
    )
    assert code == 2
    assert "submission id" in capsys.readouterr().err
    assert len(responses.calls) == 0


@responses.activate
def test_a_bad_practitioner_is_refused(capsys):
    code = main(["show", "--fhir-base", BASE, "--patient", "p1", "--practitioner", "Patient/x?y"])
    assert code == 2
    assert "Practitioner/<id>" in capsys.readouterr().err


@responses.activate
def test_a_307_makes_show_exit_4_not_2_and_is_not_followed(capsys):
    responses.add(responses.POST, BASE, status=307, headers={"Location": "https://elsewhere.example/x"})
    responses.add(responses.POST, "https://elsewhere.example/x", status=404)
    code = main(["show", "--fhir-base", BASE, "--patient", "p1"])
    err = capsys.readouterr().err
    assert code == 4
    assert "redirect to https://elsewhere.example/x" in err
    assert len(responses.calls) == 1


@responses.activate
def test_the_token_comes_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("FHIR_REHAB_TOKEN", "env-token")
    responses.add_callback(responses.POST, BASE, callback=patient_bundle)
    assert main(["show", "--fhir-base", BASE, "--patient", "p1"]) == 0
    assert responses.calls[0].request.headers["Authorization"] == "Bearer env-token"


@responses.activate
def test_the_token_comes_from_a_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FHIR_REHAB_TOKEN", "env-token")
    path = tmp_path / "token"
    path.write_text("file-token\n")
    responses.add_callback(responses.POST, BASE, callback=patient_bundle)
    assert main(["show", "--fhir-base", BASE, "--patient", "p1", "--token-file", str(path)]) == 0
    assert responses.calls[0].request.headers["Authorization"] == "Bearer file-token"


@pytest.mark.parametrize("content", [None, "", "two words\n", "a\nb\n"])
def test_an_unusable_token_file_is_a_usage_error(capsys, tmp_path, content):
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    assert main(["show", "--fhir-base", BASE, "--patient", "p1", "--token-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "token file" in err
    assert "Traceback" not in err


@responses.activate
def test_token_on_the_command_line_warns_it_is_visible_to_other_users(capsys):
    responses.add_callback(responses.POST, BASE, callback=patient_bundle)
    assert main(["show", "--fhir-base", BASE, "--patient", "p1", "--token", "t"]) == 0
    assert "visible to other users" in capsys.readouterr().err


class RedirectingServer:
    """A FHIR base on loopback that answers every request with a 307 elsewhere, and counts them."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                owner.requests.append(self.path)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(307)
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}/fhir"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def redirecting():
    server = RedirectingServer()
    yield server
    server.close()


# Every bad CLI input the issue lists (and an unusable token file): (argv, exit code, words in
# the message, FHIR requests allowed). "{base}" is the redirecting server's FHIR base.
BAD_INPUTS = {
    "fhir-base-not-a-url": (
        ["show", "--fhir-base", "notaurl", "--patient", "p1"],
        2,
        "http:// or https://",
        0,
    ),
    "fhir-base-no-host": (["show", "--fhir-base", "http://", "--patient", "p1"], 2, "no host", 0),
    "fhir-base-ftp": (
        ["show", "--fhir-base", "ftp://ehr.example.org/fhir", "--patient", "p1"],
        2,
        "http://",
        0,
    ),
    "fhir-base-broken-ipv6": (
        ["show", "--fhir-base", "http://[::1", "--patient", "p1"],
        2,
        "not a valid URL",
        0,
    ),
    "timeout-negative": (
        ["show", "--fhir-base", "{base}", "--patient", "p1", "--timeout", "-1"],
        2,
        "timeout",
        0,
    ),
    "timeout-zero": (["show", "--fhir-base", "{base}", "--patient", "p1", "--timeout", "0"], 2, "timeout", 0),
    "timeout-nan": (
        ["show", "--fhir-base", "{base}", "--patient", "p1", "--timeout", "nan"],
        2,
        "timeout",
        0,
    ),
    "empty-patient-show": (["show", "--fhir-base", "{base}", "--patient", ""], 2, "Patient id", 0),
    "empty-patient-pain": (
        ["pain", "--fhir-base", "{base}", "--patient", "", "--score", "3"],
        2,
        "Patient id",
        0,
    ),
    "empty-patient-screen": (["screen", "--fhir-base", "{base}", "--patient", ""], 2, "Patient id", 0),
    "smuggled-submission-id": (
        ["pain", "--fhir-base", "{base}", "--patient", "p1", "--score", "1", "--submission-id", "x&_id=o"],
        2,
        "submission id",
        0,
    ),
    "missing-token-file": (
        ["show", "--fhir-base", "{base}", "--patient", "p1", "--token-file", "/nonexistent/token"],
        2,
        "token file",
        0,
    ),
    "redirect-on-show": (["show", "--fhir-base", "{base}", "--patient", "p1"], 4, "redirect to", 1),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_no_traceback_reaches_stderr_from_a_real_process(redirecting, case):
    """The CLI as a user runs it (a new process): each listed bad input exits with its code and
    a one-line reason on stderr, never a traceback, and sends at most what it must."""
    argv, code, says, allowed = BAD_INPUTS[case]
    env = {k: v for k, v in os.environ.items() if k != "FHIR_REHAB_TOKEN"}
    env["PYTHONPATH"] = os.getcwd()
    before = len(redirecting.requests)
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "fhir_rehab.cli", *(a.replace("{base}", redirecting.base) for a in argv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert len(redirecting.requests) - before == allowed
