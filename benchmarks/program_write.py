"""Benchmark: the clinician's actions (screen, start, show, pain, complete stage, then a medical
review recorded, resume and stop after a positive screen) as the clinician does them: the form
POSTed to the app through Flask (view, template, session, CSRF) and the page it redirects to,
beside a naive client that writes the SAME linked resources one request each.

    python benchmarks/program_write.py [--patients 9]

Each action's figures cover the POST and the page shown after it (the form's own page is
loaded first, not measured: the user was looking at it). The naive client reads the record,
writes, and reads the record again for the page after.

The naive client sends every entry of the transaction the app would send as its own request,
in order: creates as POST with the same `If-None-Exist` (conditional create), updates as PUT
with the same `If-Match`; a reference to a resource not created yet (the CarePlan's activities
and its Tasks' `basedOn` point at each other) is left out at first and written by a second PUT
once its target exists, so the naive program has every link the app's has. Its reads are one
search per resource type for the patient.

Between actions, what the clinician did not do on this page is written straight to the server
for both patients, unmeasured: a positive screen before the review (the program on hold), a
clear screen before the resume.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from common import Row, TrafficRecorder, measure, print_rows, save, with_ratios

from ehr_sandbox.fhir_server import LocalFhirServer
from fhir_rehab import create_app
from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.launch.context import LaunchContext
from fhir_rehab.launch.store import LAUNCH_KEY, TOKEN_KEY
from fhir_rehab.program.redflags import RED_FLAG_KEYS
from fhir_rehab.program.review import Outcome
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.services import program as svc
from fhir_rehab.services.record import read_patient_record
from fhir_rehab.services.review import record_review, resume_program, stop_program
from fhir_rehab.services.seed import seed_demo_patients

ALL_ABSENT = dict.fromkeys(RED_FLAG_KEYS, False)
NAIVE = "naive (one request each)"


def _urns(value: Any) -> set[str]:
    text = json.dumps(value)
    return {"urn:uuid:" + part.split('"')[0] for part in text.split('"urn:uuid:')[1:]}


def _resolve(value: Any, assigned: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, assigned) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, assigned) for v in value]
    return assigned.get(value, value) if isinstance(value, str) else value


def naive_send(client: FhirClient, bundle: dict[str, Any]) -> None:
    """Every entry as its own request; links to resources created later fixed by a later PUT."""
    assigned: dict[str, str] = {}
    later: list[tuple[dict[str, Any], str]] = []
    for entry in bundle["entry"]:
        resource = _resolve(entry["resource"], assigned)
        request = entry["request"]
        unresolved = {k for k, v in resource.items() if _urns(v)}
        body = {k: v for k, v in resource.items() if k not in unresolved}
        if request["method"] == "POST":
            created = client.create(body, if_none_exist=request.get("ifNoneExist"))
            found = created.body or {}
            ref = f"{found.get('resourceType', body['resourceType'])}/{found.get('id')}"
            if entry.get("fullUrl", "").startswith("urn:uuid:"):
                assigned[entry["fullUrl"]] = ref
            if unresolved:
                later.append((entry, str(found.get("meta", {}).get("versionId"))))
                entry["_id"] = found.get("id")
        else:
            match = request.get("ifMatch", "").replace('W/"', "").rstrip('"') or None
            client.update(body, if_match=match)
    for entry, version in later:
        resource = _resolve(entry["resource"], assigned)
        resource["id"] = entry["_id"]
        client.update(resource, if_match=version)


def naive_read(client: FhirClient, patient: str) -> None:
    for rtype, params in [
        ("Patient", {"_id": patient}),
        ("Condition", {"patient": patient}),
        ("CarePlan", {"patient": patient}),
        ("Goal", {"patient": patient}),
        ("Task", {"patient": patient}),
        ("Observation", {"patient": patient}),
    ]:
        client.search_all(rtype, params)


class _Captured(Exception):  # noqa: N818 - a control-flow signal
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle


class CapturingClient(FhirClient):
    """Reads go to the server; the transaction is captured instead of sent."""

    def transaction(self, bundle: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if bundle.get("type") == "transaction":
            raise _Captured(bundle)
        return super().transaction(bundle, **kwargs)


FIELD = re.compile(r'name="(csrf_token|submission_id|patient|task_id|version)" value="([^"]+)"')
REVIEW_LINK = re.compile(r'href="(/patient/review/[^"]+)"')
REVIEW_NOTE = "Power and reflexes normal: cleared to continue."


class Clinician:
    """One clinician's browser on the app through Flask, launched from the EHR for `patient`."""

    def __init__(self, app: Any, base: str, patient: str, user: str) -> None:
        self.client = app.test_client()
        launch = LaunchContext(
            base, patient, None, user, ("launch", "user/*.cruds"), False, None, (), None, "bench", None
        )
        with self.client.session_transaction() as session:
            session[LAUNCH_KEY] = launch.to_session()
            session[TOKEN_KEY] = {"access_token": "bench", "expires_at": time.time() + 86400}

    def page(self, path: str) -> dict[str, str]:
        """GET a page; the form fields it carries."""
        answer = self.client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {answer.status_code}")
        return dict(FIELD.findall(answer.get_data(as_text=True)))

    def post(self, path: str, fields: dict[str, str]) -> str:
        """POST a form and follow the redirect: the page shown after it."""
        answer = self.client.post(path, data=fields, follow_redirects=True)
        if answer.status_code != 200:
            raise RuntimeError(f"POST {path}: HTTP {answer.status_code}")
        return answer.get_data(as_text=True)


ACTIONS = ("screen", "start", "show", "pain", "complete stage", "review record", "resume", "stop")
FORM_PAGE = {
    "screen": "/patient/screen",
    "start": "/patient",
    "pain": "/patient/program",
    "complete stage": "/patient/program",
    "resume": "/patient/program",
    "stop": "/patient/program",
}


def form_page(clinician: Clinician, action: str) -> str:
    """The page whose form sends `action` (the review's own form, linked from the program page)."""
    if action == "review record":
        found = REVIEW_LINK.search(clinician.client.get("/patient/program").get_data(as_text=True))
        if found is None:
            raise RuntimeError("no open review on the program page")
        return found.group(1)
    return FORM_PAGE[action]


def app_action(clinician: Clinician, action: str, form: dict[str, str], page: str) -> object:
    """What the clinician's browser sends for `action`, from the fields of its form `page`."""
    if action == "show":
        return clinician.page("/patient/program")
    if action == "screen":
        return clinician.post("/patient/screen", {**form, **dict.fromkeys(RED_FLAG_KEYS, "absent")})
    if action == "start":
        return clinician.post("/patient/start", form)
    if action == "pain":
        return clinician.post("/patient/score/pain", {**form, "score": "3"})
    if action == "review record":
        return clinician.post(page, {**form, "outcome": "cleared", "note": REVIEW_NOTE})
    if action == "resume":
        return clinician.post("/patient/program/resume", form)
    if action == "stop":
        return clinician.post("/patient/program/stop", {**form, "reason": "benchmark"})
    return clinician.post("/patient/stage/complete", {**form, "early": "yes", "early_reason": "benchmark"})


def before(client: FhirClient, action: str, patients: tuple[str, ...]) -> None:
    """What happens to both patients before `action`, outside the clinician's page: a positive
    screen holds the program before the review; a new clear screen comes before the resume."""
    answers = {"review record": {**ALL_ABSENT, "leg-weakness": True}, "resume": ALL_ABSENT}.get(action)
    for patient in patients if answers is not None else ():
        svc.record_screen(client, SCIATICA_PROGRAM, patient, answers, Actor(), str(uuid.uuid4()))


def captured(base: str, call: Callable[[FhirClient], object]) -> dict[str, Any]:
    try:
        call(CapturingClient(base))
    except _Captured as found:
        return found.bundle
    raise RuntimeError("nothing was written")


def run(patients: int) -> list[Row]:
    rows: list[Row] = []
    with (
        LocalFhirServer() as server,
        TrafficRecorder(server.base_url) as recorder,
        tempfile.TemporaryDirectory(prefix="bench-program-") as tmp,
    ):
        client = FhirClient(server.base_url)
        base = server.base_url
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SESSION_DIR": f"{tmp}/sessions",
                "RECORD_SNAPSHOT_DIR": f"{tmp}/snapshots",
                "WORKLIST_INDEX_DIR": f"{tmp}/worklist",
                "ISS_ALLOWLIST": [base],
            }
        )
        user = client.create({"resourceType": "Practitioner", "name": [{"family": "Bench"}]}).body or {}
        app_ps = [
            seed_demo_patients(client, run=f"a{i}-{uuid.uuid4().hex[:6]}")[0].patient_id
            for i in range(patients)
        ]
        naive_ps = [
            seed_demo_patients(client, run=f"n{i}-{uuid.uuid4().hex[:6]}")[0].patient_id
            for i in range(patients)
        ]
        recorder.reset()

        def app_cycle(action: str) -> Callable[[], object]:
            clinician = browsers[current["app"]]
            page = form_page(clinician, action) if action != "show" else ""
            form = clinician.page(page) if page else {}
            return lambda: app_action(clinician, action, form, page)

        def naive_cycle(action: str) -> Callable[[], object]:
            def go() -> object:
                p = current["naive"]
                if action == "show":
                    return naive_read(client, p)
                bundle = prepared[action]
                naive_read(client, p)  # it reads the record first, as the app does
                naive_send(client, bundle)
                return naive_read(client, p)  # and again for the page after

            return go

        browsers = {p: Clinician(app, base, p, f"Practitioner/{user.get('id')}") for p in app_ps}
        reviewer = Actor(f"Practitioner/{user.get('id')}", "Bench")

        current: dict[str, str] = {}
        prepared: dict[str, dict[str, Any]] = {}
        samples: dict[tuple[str, str], list[Row]] = {}
        for app_p, naive_p in zip(app_ps, naive_ps, strict=True):
            current.update(app=app_p, naive=naive_p)
            for action in ACTIONS:
                before(client, action, (app_p, naive_p))
                # The naive client writes exactly what the app would write for its patient.
                if action == "screen":
                    prepared[action] = captured(
                        base,
                        lambda c, naive_p=naive_p: svc.record_screen(
                            c,
                            SCIATICA_PROGRAM,
                            naive_p,
                            ALL_ABSENT,
                            Actor(),
                            str(uuid.uuid4()),
                        ),
                    )
                elif action == "start":
                    prepared[action] = captured(
                        base,
                        lambda c, naive_p=naive_p: svc.start_program(c, SCIATICA_PROGRAM, naive_p, Actor()),
                    )
                elif action == "pain":
                    plan = read_patient_record(client, naive_p).state(SCIATICA_PROGRAM).careplan_id
                    prepared[action] = captured(
                        base,
                        lambda c, plan=plan, naive_p=naive_p: svc.record_pain(
                            c, naive_p, 3, Actor(), str(uuid.uuid4()), plan
                        ),
                    )
                elif action == "complete stage":
                    state = read_patient_record(client, naive_p).state(SCIATICA_PROGRAM)
                    prepared[action] = captured(
                        base,
                        lambda c, t=state.current.task_id, naive_p=naive_p: svc.complete_stage(
                            c,
                            SCIATICA_PROGRAM,
                            naive_p,
                            t,
                            Actor(),
                            early_reason="benchmark",
                        ),
                    )
                elif action == "review record":
                    review = next(r for r in read_state(client, naive_p).reviews if r.is_open)
                    prepared[action] = captured(
                        base,
                        lambda c, t=review.task_id, naive_p=naive_p: record_review(
                            c, SCIATICA_PROGRAM, naive_p, t, Outcome.CLEARED, REVIEW_NOTE, reviewer
                        ),
                    )
                elif action == "resume":
                    prepared[action] = captured(
                        base, lambda c, naive_p=naive_p: resume_program(c, SCIATICA_PROGRAM, naive_p, Actor())
                    )
                elif action == "stop":
                    prepared[action] = captured(
                        base,
                        lambda c, naive_p=naive_p: stop_program(
                            c, SCIATICA_PROGRAM, naive_p, Actor(), "benchmark"
                        ),
                    )
                recorder.reset()
                for who, fn in (("fhir-rehab", app_cycle(action)), (NAIVE, naive_cycle(action))):
                    samples.setdefault((action, who), []).append(
                        measure(recorder, fn, 1, benchmark="program", action=action, who=who)
                    )
        for got in samples.values():
            got.sort(key=lambda r: r.total_ms)
            mid = got[len(got) // 2]
            rows.append(mid)
    order = {a: i for i, a in enumerate(ACTIONS)}
    rows.sort(key=lambda r: (order[r.action], r.who != "fhir-rehab"))
    return with_ratios(rows, NAIVE)


def read_state(client: FhirClient, patient: str) -> Any:
    return read_patient_record(client, patient).state(SCIATICA_PROGRAM)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=9)
    args = parser.parse_args()
    rows = run(args.patients)
    print_rows(f"Clinician actions on sekmet-fhir 0.1.1, loopback, median of {args.patients} patients", rows)
    save("program", rows, {"patients": args.patients})


if __name__ == "__main__":
    main()
