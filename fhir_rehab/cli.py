"""The `fhir-rehab` command line: run the program against any FHIR R4 server and see what it wrote."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

# Only what building the argument parser needs is imported here: `fhir-rehab --help` and usage
# errors must not pay for requests, flask, pydantic and the FHIR models (about half a second).
# Each command imports what it uses when it runs.
from fhir_rehab.program.redflags import RED_FLAG_KEYS, IncompleteScreen

if TYPE_CHECKING:
    from fhir_rehab.cli_client import RecordingClient
    from fhir_rehab.services.seed import SeededPatient

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_RED_FLAG, EXIT_FHIR = 0, 1, 2, 3, 4
TOOLS_GROUP = "fhir_rehab.tools"


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

    token = args.token
    return RecordingClient(
        args.fhir_base, token_provider=(lambda: token) if token else None, timeout=args.timeout
    )


def _actor(args: argparse.Namespace) -> Any:
    from fhir_rehab.resources.provenance import Actor

    return Actor(reference=args.practitioner, display=args.practitioner or "fhir-rehab CLI")


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
        client, SCIATICA_PROGRAM, args.patient, answers, _actor(args), args.submission_id or str(uuid.uuid4())
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
        client, SCIATICA_PROGRAM, args.patient, _actor(args), max_screen_age_days=args.max_screen_age_days
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
        _actor(args),
        args.submission_id or str(uuid.uuid4()),
        state.careplan_id,
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
        _actor(args),
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
    written = publish_definitions(client, SCIATICA_PROGRAM)
    out.data["program"] = SCIATICA_PROGRAM.canonical
    out.say(f"Published {SCIATICA_PROGRAM.canonical}: {len(written)} definitions")
    return out.finish(EXIT_OK, client, [w.ref for w in written])


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
            p.add_argument("--fhir-base", required=True, help="FHIR R4 base URL")
            p.add_argument("--token", help="bearer access token for the FHIR server")
            p.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
        if patient:
            p.add_argument("--patient", required=True, help="Patient id")
        p.add_argument("--practitioner", help="fhirUser of the person acting, e.g. Practitioner/1")
        if json_output:
            p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(handler=handler, json=False)
        return p

    add("eligibility", cmd_eligibility, "why the patient is or is not eligible")
    screen = add("screen", cmd_screen, "record a red-flag screen (all seven questions)")
    screen.add_argument("--present", action="append", default=[], choices=RED_FLAG_KEYS)
    screen.add_argument("--absent", action="append", default=[], choices=RED_FLAG_KEYS)
    screen.add_argument("--submission-id", help="idempotency key (default: a new one)")
    start = add("start", cmd_start, "start the staged program (one transaction, idempotent)")
    start.add_argument("--max-screen-age-days", type=int, default=7)
    add("show", cmd_show, "the program state")
    for name, top, what in (
        ("pain", 10, "a pain score 0-10"),
        ("oswestry", 100, "an Oswestry Disability Index score 0-100 %%"),
    ):
        score = add(name, cmd_score, f"record {what}")
        score.add_argument("--score", type=int, required=True, choices=range(top + 1), metavar=f"0-{top}")
        score.add_argument("--submission-id", help="idempotency key (default: a new one)")
    complete = add("complete-stage", cmd_complete_stage, "complete the current stage, ready the next")
    complete.add_argument(
        "--early-reason", help="complete although the measured criteria are not met, for this reason"
    )
    seed = add("seed", cmd_seed, "write the synthetic demo patients", patient=False)
    seed.add_argument("--run", default="demo", help="seed run name (same name: same patients)")
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
    demo.set_defaults(token=None, timeout=20.0, max_screen_age_days=7)
    _add_server_commands(sub, wanted)
    return parser


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
    from fhir_rehab.errors import FhirRehabError
    from fhir_rehab.fhir.errors import FhirError, FhirInvalid, FhirNotFound, FhirUnavailable
    from fhir_rehab.resources.errors import ResourceError
    from fhir_rehab.services.errors import PatientNotFound, ProgramRefused, ServiceError

    out = Output(getattr(args, "json", False))
    try:
        return int(args.handler(args, out))
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


def _fail(out: Output, code: int, message: str) -> int:
    print(f"fhir-rehab: {message}", file=sys.stderr)
    out.data["error"] = message
    return out.finish(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
