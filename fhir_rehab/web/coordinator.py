"""The care coordinator's pages (standalone launch, no patient): worklist, Task actions, timeline."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import MultiDict

from fhir_rehab.fhir.client import FhirClient
from fhir_rehab.fhir.errors import FhirError
from fhir_rehab.fhir.ids import is_fhir_id
from fhir_rehab.launch.context import (
    LaunchContext,
    current_launch,
    fhir_client_for_launch,
    require_launch,
)
from fhir_rehab.launch.errors import LaunchRequired
from fhir_rehab.program.lifecycle import TRANSITIONS
from fhir_rehab.program.roles import coordinator_refusal
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.program.words import priority_words, status_words
from fhir_rehab.resources.provenance import Actor
from fhir_rehab.resources.worklist import (
    COUNTED,
    OPEN,
    OWNERS,
    PRIORITIES,
    STATUSES,
    Filters,
    WorkRow,
    parse_filters,
)
from fhir_rehab.services.errors import WorklistExpired, WorklistPreparing
from fhir_rehab.services.follow_ups import raise_follow_ups
from fhir_rehab.services.worklist import (
    NEEDS_REASON,
    Done,
    Intent,
    Seen,
    TaskConflict,
    WorklistRefused,
    change_task,
    practitioner_display,
)
from fhir_rehab.services.worklist_index import WorklistIndex, index_path
from fhir_rehab.services.worklist_pages import (
    Cursor,
    Prefetched,
    page_reads,
    read_timeline,
    read_worklist,
)
from fhir_rehab.services.writes import utcnow
from fhir_rehab.web.actor import actor_for_launch
from fhir_rehab.web.charts import pain_chart_svg
from fhir_rehab.web.snapshots import session_key, snapshots

log = logging.getLogger(__name__)
bp = Blueprint("coordinator", __name__, url_prefix="/worklist")
# Codes stay in forms and URLs; people read words.
bp.add_app_template_filter(status_words, "status_words")
bp.add_app_template_filter(priority_words, "priority_words")
PROGRAM = SCIATICA_PROGRAM
CURSORS_KEY = "worklist_cursors"  # page token -> where that page starts (server-side session)
MAX_CURSORS = 10  # each holds at most a page of rows per search: the session stays small


def _launch() -> LaunchContext:
    launch = current_launch()
    if launch is None or launch.has_patient:
        raise LaunchRequired(
            "The worklist needs a coordinator launch, without a patient "
            'selected. Use "Launch as coordinator" in the EHR.'
        )
    return launch


def available_actions(row: WorkRow, me: str | None) -> list[str]:
    """The buttons a row offers: what the R4 state machine allows from its status and the
    coordinator's role allows on its kind of Task (program.roles)."""
    return [
        a
        for a in _state_actions(row, me)
        if coordinator_refusal(row.kind, a, closes_itself=row.closes_itself) is None
    ]


def _state_actions(row: WorkRow, me: str | None) -> list[str]:
    allowed = TRANSITIONS.get(row.status, frozenset())
    out = []
    if row.status in OPEN and me and row.owner != me:
        out.append("claim")
    if row.status in ("requested", "received") and me and row.owner == me:
        out.append("accept")  # assigned to me: R4 "accepted" is the owner agreeing to do it
    if "in-progress" in allowed and not row.held:
        out.append("start")
    if row.status == "on-hold" and not row.red_flag_hold:
        out.append("resume")
    if "completed" in allowed:
        out.append("complete")
    if "on-hold" in allowed and row.status != "on-hold":
        out.append("hold")
    if "cancelled" in allowed:
        out.append("cancel")
    if row.status in OPEN:
        out.append("note")
    return out


def _load_cursor(token: str | None, filters: Filters, *, say: bool = True) -> Cursor | None:
    if not token:
        return None
    saved = (session.get(CURSORS_KEY) or {}).get(token)
    if isinstance(saved, dict) and saved.get("filters") == filters.key():
        try:
            return Cursor.from_dict(saved)
        except (KeyError, TypeError, ValueError):
            pass  # an older layout: start again
    if say:
        flash("That page of the worklist has expired; here is the first page again.", "info")
    return None


def _save_cursor(cursor: Cursor) -> str:
    token = secrets.token_urlsafe(12)
    saved = dict(session.get(CURSORS_KEY) or {})
    saved[token] = cursor.to_dict()
    session[CURSORS_KEY] = dict(list(saved.items())[-MAX_CURSORS:])
    return token


def _worklist_url(filters: Filters, **extra: str) -> str:
    return url_for("coordinator.worklist", **{**filters.query(), **extra})  # type: ignore[arg-type]


def _index(launch: LaunchContext) -> WorklistIndex:
    """The worklist index of the launch's FHIR base (a file in the instance folder)."""
    directory = current_app.config.get("WORKLIST_INDEX_DIR") or Path(current_app.instance_path) / "worklist"
    return WorklistIndex.at(index_path(directory, launch.iss))


@bp.get("")
@require_launch
def worklist() -> Any:
    launch = _launch()
    client = fhir_client_for_launch(launch)
    actor = actor_for_launch(launch, client)
    filters = parse_filters(request.args, PROGRAM)
    now = utcnow()
    if not request.args.get("page"):
        _check_follow_ups(client, actor, now)
    try:
        page = read_worklist(
            client,
            PROGRAM,
            _index(launch),
            filters,
            me=launch.fhir_user,
            now=now,
            page_size=int(current_app.config["WORKLIST_PAGE_SIZE"]),
            cursor=_load_cursor(request.args.get("page"), filters),
            prefetched=_take_page(launch),
        )
    except WorklistExpired as exc:
        flash(exc.user_message, "info")
        return redirect(_worklist_url(filters))
    except WorklistPreparing as exc:
        return render_template(
            "coordinator/preparing.html", tasks_read=exc.tasks_read, here=request.full_path.rstrip("?")
        )
    following = None
    if page.following is not None:
        following = _worklist_url(filters, page=_save_cursor(page.following))
    _keep_rows(launch, page.tasks, page.plans, page.practitioners)
    return render_template(
        "coordinator/worklist.html",
        page=page,
        filters=filters,
        now=now,
        me=launch.fhir_user,
        actor=actor,
        program=PROGRAM,
        statuses=STATUSES,
        open_statuses=OPEN,
        counted=COUNTED,
        owners=OWNERS,
        priorities=PRIORITIES,
        following=following,
        here=request.full_path.rstrip("?"),
        actions={row.task_id: available_actions(row, launch.fhir_user) for row in page.rows},
        needs_reason=NEEDS_REASON,
    )


FOLLOW_UP_CHECK_KEY = "follow_ups_checked_at"
FOLLOW_UP_CHECK_SECONDS = 600  # the first page checks patients' home logs at most this often


def _check_follow_ups(client: FhirClient, actor: Actor, now: datetime) -> None:
    """Raise the follow-up Tasks patients' logs call for (no session for 7 days, pain up 3),
    at most every 10 minutes per session; the worklist still shows if the check fails."""
    last = session.get(FOLLOW_UP_CHECK_KEY)
    if isinstance(last, (int, float)) and now.timestamp() - last < FOLLOW_UP_CHECK_SECONDS:
        return
    try:
        created = raise_follow_ups(client, PROGRAM, actor, now)
    except FhirError as error:
        log.warning("follow-up check failed: %s", type(error).__name__)
        return
    session[FOLLOW_UP_CHECK_KEY] = now.timestamp()
    if created:
        flash(
            f"{len(created)} new follow-up task{'s' if len(created) != 1 else ''} from patients' home logs.",
            "info",
        )


def _return_to() -> str:
    """Back to the worklist page the form came from; never anywhere else."""
    target = request.form.get("return_to") or ""
    if len(target) > 2000 or not target.isprintable() or "\\" in target:
        return url_for("coordinator.worklist")  # CR/LF or other controls: never into a header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/worklist"):
        return url_for("coordinator.worklist")
    return target


@bp.post("/task/<task_id>")
@require_launch
def act(task_id: str) -> Any:
    if not is_fhir_id(task_id):
        abort(404)
    return_to = _return_to()  # decided before anything is written
    launch = _launch()
    client = fhir_client_for_launch(launch)
    actor = actor_for_launch(launch, client, for_write=True)
    intent = Intent(
        request.form.get("action", ""),
        request.form.get("reason", ""),
        request.form.get("owner") or None,
        request.form.get("takeover_of") or None,
    )
    now = utcnow()
    reads = _page_after(launch, return_to, now)
    try:
        done = change_task(
            client,
            PROGRAM,
            task_id,
            request.form.get("version", ""),
            intent,
            actor,
            now,
            reads=reads,
            seen=_seen(launch, task_id),
        )
    except WorklistRefused as exc:
        flash(f"Not changed: {exc}", "error")
    except TaskConflict as conflict:
        _keep_rows(launch, {task_id: conflict.current.task} if conflict.current.task else {}, {}, [])
        return render_template(
            "coordinator/conflict.html",
            conflict=conflict,
            current=conflict.current,
            intent=conflict.intent,
            intent_owner_name=practitioner_display(client, conflict.intent.owner),
            return_to=return_to,
            actor=actor,
            now=utcnow(),
        ), 409
    else:
        flash(done.message, "info")
        _keep_page(launch, reads, done)
    return redirect(return_to)


ROWS_KEPT = 75  # Tasks kept per session for actions on the rows shown (about the latest 3 pages)


def _keep_rows(
    launch: LaunchContext,
    shown: dict[str, Any],
    plans: dict[str, str],
    practitioners: list[tuple[str, str]],
) -> None:
    """Keep the Tasks a page showed as the server returned them (`shown`; or the conflict
    page's), their programs' statuses and the practitioners listed (server side, per session),
    so an action on a row is decided on what the user saw and costs no read (`_seen`). Added to
    what earlier pages kept (another tab)."""
    key = session_key(launch, "worklist-rows")
    if not key or not shown:
        return
    kept = snapshots().recall(key) or {}
    earlier = {k: v for k, v in _dict(kept.get("tasks")).items() if k not in shown}
    tasks = dict(list({**earlier, **shown}.items())[-ROWS_KEPT:])  # the newest last
    # A program status goes with the Task version it was read with (never a newer version).
    statuses = {k: v for k, v in _dict(kept.get("plans")).items() if k not in shown} | plans
    data: dict[str, object] = {
        "tasks": tasks,
        "plans": {k: v for k, v in statuses.items() if k in tasks},
        "roster": {**_dict(kept.get("roster")), **dict(practitioners)},
    }
    snapshots().keep(key, data)


def _seen(launch: LaunchContext, task_id: str) -> Seen | None:
    """The row the user acts on, as the page showed it (`_keep_rows`); None when not kept."""
    key = session_key(launch, "worklist-rows")
    kept = snapshots().recall(key) if key else None
    task = _dict((kept or {}).get("tasks")).get(task_id)
    if not kept or not isinstance(task, dict):
        return None
    plan_status = _dict(kept.get("plans")).get(task_id)
    roster = {str(k): str(v) for k, v in _dict(kept.get("roster")).items()}
    return Seen(task, plan_status if isinstance(plan_status, str) else None, roster)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _page_after(launch: LaunchContext, return_to: str, now: datetime) -> list[str]:
    """The batch reads of the worklist page the action returns to, for its transaction (the
    page after then needs no request of its own: `_keep_page`, `_take_page`)."""
    args = MultiDict(parse_qsl(urlsplit(return_to).query, keep_blank_values=True))
    filters = parse_filters(args, PROGRAM)
    cursor = _load_cursor(args.get("page"), filters, say=False)
    return page_reads(
        _index(launch),
        filters,
        me=launch.fhir_user,
        now=now,
        page_size=int(current_app.config["WORKLIST_PAGE_SIZE"]),
        cursor=cursor,
    )


def _keep_page(launch: LaunchContext, reads: list[str], done: Done) -> None:
    key = session_key(launch, "worklist")
    if key and reads and len(done.reads) == len(reads):
        snapshots().stash(key, {"urls": reads, "answers": list(done.reads), "server_date": done.server_date})


def _take_page(launch: LaunchContext) -> Prefetched | None:
    key = session_key(launch, "worklist")
    found = snapshots().take(key) if key else None
    if not found:
        return None
    urls, answers = found.get("urls"), found.get("answers")
    if not isinstance(urls, list) or not isinstance(answers, list) or len(urls) != len(answers):
        return None
    date = found.get("server_date")
    return Prefetched(tuple(str(u) for u in urls), tuple(answers), date if isinstance(date, str) else None)


@bp.get("/patient/<patient_id>")
@require_launch
def timeline(patient_id: str) -> Any:
    if not is_fhir_id(patient_id):
        abort(404)
    launch = _launch()
    client = fhir_client_for_launch(launch)
    actor = actor_for_launch(launch, client)
    found = read_timeline(client, PROGRAM, patient_id)
    return render_template(
        "coordinator/timeline.html",
        timeline=found,
        state=found.state,
        patient=found.patient,
        chart=pain_chart_svg(found.state.pain),
        actor=actor,
        now=utcnow(),
    )
