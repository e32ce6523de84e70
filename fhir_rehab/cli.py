"""The `fhir-rehab` command line: run the program against any FHIR R4 server and see what it wrote."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

# Only what building the argument parser needs is imported here: `fhir-rehab --help` and usage
# errors must not pay for requests, flask, pydantic and the FHIR models (about half a second).
# Each command imports what it uses when it runs.
from fhir_rehab.errors import FhirRehabError
from fhir_rehab.fhir.ids import (
    ACTOR_REFERENCE,
    check_fhir_base,
    check_timeout,
    is_fhir_id,
    is_submission_id,
)
from fhir_rehab.program.redflags import RED_FLAG_KEYS, IncompleteScreen

if TYPE_CHECKING:
    from fhir_rehab.cli_client import RecordingClient
    from fhir_rehab.services.seed import SeededPatient

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_RED_FLAG, EXIT_FHIR = 0, 1, 2, 3, 4
TOOLS_GROUP = "fhir_rehab.tools"
TOKEN_ENV = "FHIR_REHAB_TOKEN"  # noqa: S105 - the variable's name, not a token
MAX_TOKEN_FILE_BYTES = 16_384


class UsageError(FhirRehabError):
    """A command-line input is unusable; the message says which and why (exit 2)."""


class Output:
    """Human lines on stdout, or one JSON object with `--json`."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.data: dict[str, Any] = {}

    def say(self, line: str) -> None:
        if not self.as_json:
            print(line)

    def finish(self, code: int, client: RecordingClient | None = None, written: Sequence[str] = ()) -> int:
        if self.as_json:
            self.data.setdefault("exitCode", code)
            if client is not None:
                self.data["read"] = client.read_refs
            self.data["written"] = list(written)
            print(json.dumps(self.data, indent=2, default=str))
        return code


def _client(args: argparse.Namespace) -> RecordingClient:
    from fhir_rehab.cli_client import RecordingClient

    token = read_token(args)
    return RecordingClient(
        args.fhir_base, token_provider=(lambda: token) if token else None, timeout=args.timeout
    )


def read_token(args: argparse.Namespace) -> str | None:
    """The bearer token: --token-file, else $FHIR_REHAB_TOKEN, else --token (visible in `ps`)."""
    path = getattr(args, "token_file", None)
    if path:
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_TOKEN_FILE_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"Cannot read the token file {path}: {exc.strerror or 'unreadable'}.") from None
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            token = ""
        if not token or len(raw) > MAX_TOKEN_FILE_BYTES or any(ch.isspace() for ch in token):
            raise UsageError(f"The token file {path} must hold one token on one line.")
        return token
    return os.environ.get(TOKEN_ENV) or getattr(args, "token", None) or None


def _fhir_base(value: str) -> str:
    try:
        return check_fhir_base(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _timeout(value: str) -> float:
    try:
        return check_timeout(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _patient_id(value: str) -> str:
    if not is_fhir_id(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a Patient id (1-64 letters, digits, '-' or '.'; not empty)."
        )
    return value


def _submission_id(value: str) -> str:
    if not is_submission_id(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a usable submission id (1-64 letters, digits, '-' or '.', e.g. a UUID)."
        )
    return value


def _practitioner(value: str) -> str:
    if not ACTOR_REFERENCE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a reference like Practitioner/<id>.")
    return value


def _run_name(value: str) -> str:
    if not is_fhir_id(value) or len(value) > 40:
        raise argparse.ArgumentTypeError(f"{value!r} is not a run name (1-40 letters, digits, '-' or '.').")
    return value


def _actor(args: argparse.Namespace, client: RecordingClient) -> Any:
    """`--practitioner`, checked on the server: a missing one is refused, never written."""
    from fhir_rehab.services.people import require_actor

    return require_actor(client, args.practitioner, "fhir-rehab CLI")


def cmd_eligibility(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.services import program as svc
    from fhir_rehab.services.record import read_patient_record

    client = _client(args)
    verdict = svc.check_eligibility(read_patient_record(client, args.patient))
    out.data.update(
        eligible=verdict.eligible,
        reason=verdict.reason,
        condition=f"Condition/{verdict.match.condition_id}" if verdict.match else None,
        code=verdict.match.coding.code if verdict.match else None,
    )
    out.say(verdict.reason)
    for review in verdict.reviews:
        out.say(f"  - {review.reason}")
    return out.finish(EXIT_OK if verdict.eligible else EXIT_REFUSED, client)


def cmd_screen(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.services import program as svc

    answers = {key: True for key in args.present}
    for key in args.absent:
        if key in answers:
            raise IncompleteScreen(f"{key} is given as both present and absent")
        answers[key] = False
    client = _client(args)
    result = svc.record_screen(
        client,
        SCIATICA_PROGRAM,
        args.patient,
        answers,
        _actor(args, client),
        args.submission_id or str(uuid.uuid4()),
    )
    positives = [flag.key for flag in result.outcome.positives]
    escalation = result.outcome.escalation
    out.data.update(
        positive=result.outcome.positive,
        present=positives,
        level=escalation.level.value if escalation else None,
        priority=escalation.priority if escalation else None,
        reviewTask=result.review_task,
        repeated=result.repeated,
    )
    out.say(f"Screen recorded ({len(result.write.refs)} resources written).")
    if escalation is not None:
        out.say(
            f"RED FLAG present ({escalation.name}): {', '.join(positives)}. Escalated: {result.review_task}"
        )
        out.say(f"  Patient advice: {escalation.patient_advice}")
        out.say(f"  Clinician: {escalation.clinician_advice}")
        for flag in result.outcome.positives:
            out.say(f"  {flag.key} ({flag.label}): {flag.advice}")
    return out.finish(EXIT_RED_FLAG if result.outcome.positive else EXIT_OK, client, result.write.refs)


def cmd_start(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.services import program as svc
    from fhir_rehab.services.summary import describe_state

    client = _client(args)
    result = svc.start_program(
        client,
        SCIATICA_PROGRAM,
        args.patient,
        _actor(args, client),
        max_screen_age_days=args.max_screen_age_days,
    )
    out.data.update(
        carePlan=f"CarePlan/{result.state.careplan_id}",
        alreadyStarted=result.already_started,
        state=describe_state(result.state),
    )
    out.say(
        ("Program already started: " if result.already_started else "Program started: ")
        + f"CarePlan/{result.state.careplan_id}"
    )
    for ref in result.write.refs:
        out.say(f"  wrote {ref}")
    return out.finish(EXIT_OK, client, result.write.refs)


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.services.record import read_patient_record
    from fhir_rehab.services.summary import describe_state

    client = _client(args)
    record = read_patient_record(client, args.patient)
    state = describe_state(record.state(SCIATICA_PROGRAM))
    out.data.update(state=state)
    if not args.json:
        print(json.dumps(state, indent=2, default=str))
    return out.finish(EXIT_OK, client)


def cmd_score(args: argparse.Namespace, out: Output) -> int:
    """`pain` (0-10) or `oswestry` (0-100 %), linked to the running program if any."""
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.services import program as svc
    from fhir_rehab.services.record import read_patient_record

    client = _client(args)
    state = read_patient_record(client, args.patient).state(SCIATICA_PROGRAM)
    record = svc.record_pain if args.command == "pain" else svc.record_oswestry
    write = record(
        client,
        args.patient,
        args.score,
        _actor(args, client),
        args.submission_id or str(uuid.uuid4()),
        state.careplan_id,
        state=state,
    )
    out.say(f"{args.command} {args.score} recorded: {', '.join(write.refs)}")
    return out.finish(EXIT_OK, client, write.refs)


def cmd_complete_stage(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.services import program as svc
    from fhir_rehab.services.errors import ProgramRefused
    from fhir_rehab.services.record import read_patient_record

    client = _client(args)
    state = read_patient_record(client, args.patient).state(SCIATICA_PROGRAM)
    if state.current is None:
        raise ProgramRefused("No stage is in progress for this patient.")
    result = svc.complete_stage(
        client,
        SCIATICA_PROGRAM,
        args.patient,
        state.current.task_id,
        _actor(args, client),
        early_reason=args.early_reason,
    )
    out.data.update(
        completed=f"Task/{state.current.task_id}",
        next=result.next_task,
        unmetCriteria=list(result.check.unmet),
    )
    out.say(f"Stage {state.current.stage.number} completed; next: {result.next_task or 'none'}")
    for unmet in result.check.unmet:
        out.say(f"  note: criterion not met: {unmet}")
    return out.finish(EXIT_OK, client, result.write.refs)


def cmd_seed(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.services.seed import seed_demo_patients

    client = _client(args)
    seeds = seed_demo_patients(client, run=args.run)
    _say_seeded(seeds, out)
    written = [r for s in seeds for r in (f"Patient/{s.patient_id}", f"Condition/{s.condition_id}")]
    return out.finish(EXIT_OK, client, written)


def _say_seeded(seeds: Sequence[SeededPatient], out: Output) -> None:
    out.data["patients"] = [
        {
            "key": s.key,
            "patient": f"Patient/{s.patient_id}",
            "condition": f"Condition/{s.condition_id}",
            "note": s.note,
        }
        for s in seeds
    ]
    for s in seeds:
        out.say(f"{s.key:16} Patient/{s.patient_id}  {s.name}: {s.note}")


def cmd_sandbox(args: argparse.Namespace, out: Output) -> int:
    """Hand the options to the sandbox's own command line."""
    sandbox_main = load_tool("sandbox")
    if sandbox_main is None:
        return _missing_tool(out, "sandbox")
    return int(sandbox_main(args.tool_args))


def cmd_publish(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
    from fhir_rehab.services.publish import publish_definitions

    client = _client(args)
    published = publish_definitions(client, SCIATICA_PROGRAM)
    out.data["program"] = SCIATICA_PROGRAM.canonical
    out.data["unchanged"] = published.unchanged
    out.say(
        f"Published {SCIATICA_PROGRAM.canonical}: {len(published.written)} written, "
        f"{len(published.unchanged)} already published with the same content"
    )
    return out.finish(EXIT_OK, client, [w.ref for w in published.written])


def load_tool(name: str) -> Any | None:
    """A tool another package of this distribution provides, imported only now (None if absent).

    Tools are entry points of the group `fhir_rehab.tools` (pyproject.toml), so this package
    never names, nor imports, the package that provides them.
    """
    for entry_point in entry_points(group=TOOLS_GROUP, name=name):
        return entry_point.load()
    return None


def _missing_tool(out: Output, name: str) -> int:
    return _fail(
        out,
        EXIT_USAGE,
        f"the {name} is not installed; install the sandbox extra: pip install -e '.[sandbox]'",
    )


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    """Start a local FHIR server, seed it, and run the program for the ICD-10-CM patient."""
    from fhir_rehab.services.seed import seed_demo_patients

    local_fhir_server = load_tool("local-fhir-server")
    if local_fhir_server is None:
        return _missing_tool(out, "local FHIR server")
    with local_fhir_server(data_dir=args.data_dir) as server:
        print(f"Local FHIR server (sekmet-fhir) at {server.base_url}")
        args.fhir_base = server.base_url
        seeds = seed_demo_patients(_client(args), run="demo")
        _say_seeded(seeds, out)
        args.patient = seeds[0].patient_id
        print(f"\n== eligibility of {seeds[0].name}")
        cmd_eligibility(args, out)
        print("\n== red-flag screen, all answers absent")
        args.present, args.absent, args.submission_id = [], list(RED_FLAG_KEYS), None
        cmd_screen(args, out)
        print("\n== start the program")
        cmd_start(args, out)
        print("\n== program state")
        return cmd_show(args, out)


Handler = Callable[[argparse.Namespace, Output], int]


def build_parser(wanted: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; `wanted` names the subcommand whose heavier options to load."""
    parser = argparse.ArgumentParser(prog="fhir-rehab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str,
        handler: Handler,
        help_text: str,
        patient: bool = True,
        fhir: bool = True,
        json_output: bool = True,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if fhir:
            p.add_argument("--fhir-base", required=True, type=_fhir_base, help="FHIR R4 base URL")
            p.add_argument(
                "--token-file",
                help=f"file holding the bearer access token (or set ${TOKEN_ENV})",
            )
            p.add_argument(
                "--token",
                help=f"bearer access token; others can see it in `ps`: prefer ${TOKEN_ENV} or --token-file",
            )
            p.add_argument("--timeout", type=_timeout, default=20.0, help="seconds per request (0-3600)")
        if patient:
            p.add_argument("--patient", required=True, type=_patient_id, help="Patient id")
        p.add_argument(
            "--practitioner", type=_practitioner, help="fhirUser of the person acting, e.g. Practitioner/1"
        )
        if json_output:
            p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(handler=handler, json=False)
        return p

    add("eligibility", cmd_eligibility, "why the patient is or is not eligible")
    screen = add("screen", cmd_screen, "record a red-flag screen (all seven questions)")
    screen.add_argument("--present", action="append", default=[], choices=RED_FLAG_KEYS)
    screen.add_argument("--absent", action="append", default=[], choices=RED_FLAG_KEYS)
    screen.add_argument("--submission-id", type=_submission_id, help="idempotency key (default: a new one)")
    start = add("start", cmd_start, "start the staged program (one transaction, idempotent)")
    start.add_argument("--max-screen-age-days", type=int, default=7)
    add("show", cmd_show, "the program state")
    for name, top, what in (
        ("pain", 10, "a pain score 0-10"),
        ("oswestry", 100, "an Oswestry Disability Index score 0-100 %%"),
    ):
        score = add(name, cmd_score, f"record {what}")
        score.add_argument("--score", type=int, required=True, choices=range(top + 1), metavar=f"0-{top}")
        score.add_argument(
            "--submission-id", type=_submission_id, help="idempotency key (default: a new one)"
        )
    complete = add("complete-stage", cmd_complete_stage, "complete the current stage, ready the next")
    complete.add_argument(
        "--early-reason", help="complete although the measured criteria are not met, for this reason"
    )
    seed = add("seed", cmd_seed, "write the synthetic demo patients", patient=False)
    seed.add_argument(
        "--run", default="demo", type=_run_name, help="seed run name (same name: same patients)"
    )
    add("publish", cmd_publish, "write the program's PlanDefinition and ActivityDefinitions", patient=False)
    demo = add(
        "demo",
        cmd_demo,
        "local FHIR server + seed + program run",
        patient=False,
        fhir=False,
        json_output=False,
    )
    demo.add_argument("--data-dir", help="keep the FHIR data here (default: temporary)")
    demo.set_defaults(token=None, token_file=None, timeout=20.0, max_screen_age_days=7)
    _add_server_commands(sub, wanted)
    _add_cds_commands(sub)
    return parser


def _add_cds_commands(sub: Any) -> None:
    """`cds-feedback`: how often the CDS Hooks cards are taken (from the app's store)."""
    report = sub.add_parser(
        "cds-feedback",
        help="how often the CDS Hooks cards are taken",
        description="Count the CDS Hooks cards shown and the feedback received, per kind of card, "
        "from the store the app uses (FHIR_REHAB_SESSION_REDIS_URL or FHIR_REHAB_CDS_STORE_DIR).",
    )
    report.add_argument("--json", action="store_true", help="print one JSON object")
    report.set_defaults(handler=cmd_cds_feedback)


def cmd_cds_feedback(args: argparse.Namespace, out: Output) -> int:
    from fhir_rehab import create_app
    from fhir_rehab.cds.feedback import count_feedback
    from fhir_rehab.cds.runtime import get_cds_runtime

    store = get_cds_runtime(create_app()).store
    rows = count_feedback(store.feedback(), store.issued_cards())
    if args.json:
        print(json.dumps([{**vars(r), "taken": r.taken} for r in rows], indent=2))
        return EXIT_OK
    print(f"{'card':<18} {'shown':>6} {'accepted':>9} {'overridden':>11} {'taken':>6}")
    for r in rows:
        print(f"{r.kind:<18} {r.shown:>6} {r.accepted:>9} {r.overridden:>11} {r.taken:>6}")
        for reason, n in sorted(r.reasons.items(), key=lambda item: -item[1]):
            print(f"    overridden: {reason} ({n})")
    if not rows:
        print("No CDS Hooks cards shown yet.")
    return EXIT_OK


def _add_server_commands(sub: Any, wanted: str | None) -> None:
    """`sandbox` (local EHR + FHIR server + app; its options are its own) and `serve`
    (gunicorn, whose options are loaded only when `serve` is the command asked for: `--help`
    and the other commands never import the sandbox, gunicorn or Flask)."""
    sandbox = sub.add_parser(
        "sandbox",
        help="the local sandbox EHR, FHIR server and app (`fhir-rehab sandbox --help`)",
        add_help=False,  # --help goes to the sandbox's own parser
    )
    sandbox.set_defaults(handler=cmd_sandbox, passes_options=True)
    server = sub.add_parser(
        "serve",
        help="run the app under gunicorn (production)",
        description="Run the app under gunicorn; configure it with the "
        "FHIR_REHAB_* environment variables (see README).",
    )
    if wanted == "serve":
        from fhir_rehab import serve

        serve.add_arguments(server)
        server.set_defaults(handler=lambda args, out: serve.run(args))


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


MODEL_CHECK_ENV = "FHIR_REHAB_MODEL_CHECK"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(argv))
    try:
        args, tool_args = parser.parse_known_args(argv)
        if tool_args and not getattr(args, "passes_options", False):
            parser.error(f"unrecognized arguments: {' '.join(tool_args)}")
        args.tool_args = tool_args
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    from fhir_rehab.fhir.errors import FhirError, FhirInvalid, FhirNotFound, FhirUnavailable
    from fhir_rehab.resources.errors import ResourceError
    from fhir_rehab.resources.wire import model_check
    from fhir_rehab.services.errors import PatientNotFound, ProgramRefused, ServiceError

    out = Output(getattr(args, "json", False))
    if getattr(args, "token", None):
        print(
            f"fhir-rehab: warning: --token is visible to other users of this machine (ps); "
            f"use ${TOKEN_ENV} or --token-file",
            file=sys.stderr,
        )
    # A one-shot command sends what the builders make without the R4B model pass (see
    # resources.wire.model_check); `serve`, and FHIR_REHAB_MODEL_CHECK=1, keep it.
    checked = os.environ.get(MODEL_CHECK_ENV) == "1" or _command_of(argv) == "serve"
    try:
        with model_check(checked):
            return int(args.handler(args, out))
    except UsageError as exc:
        return _fail(out, EXIT_USAGE, str(exc))
    except IncompleteScreen as exc:
        return _fail(out, EXIT_USAGE, str(exc))
    except (PatientNotFound, FhirNotFound) as exc:
        return _fail(out, EXIT_USAGE, str(exc))
    except ProgramRefused as exc:
        return _fail(out, EXIT_REFUSED, str(exc))
    except (FhirUnavailable, FhirInvalid, FhirError) as exc:
        return _fail(out, EXIT_FHIR, f"FHIR server error: {exc}")
    except (ServiceError, ResourceError, FhirRehabError) as exc:
        return _fail(out, EXIT_REFUSED, str(exc))
    except KeyboardInterrupt:
        return _fail(out, EXIT_REFUSED, "interrupted")
    except Exception as exc:  # no traceback for a user: say what failed, in one line
        return _fail(out, EXIT_REFUSED, f"unexpected error ({type(exc).__name__}); nothing more was done")


def _fail(out: Output, code: int, message: str) -> int:
    print(f"fhir-rehab: {message}", file=sys.stderr)
    out.data["error"] = message
    return out.finish(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
