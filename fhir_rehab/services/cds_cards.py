"""CDS Hooks cards for one patient, from the app's own eligibility and program state.

Pure: resources in, card JSON out (CDS Hooks 2.0 "Card Attributes"). Which cards:
- each open red-flag review: `critical` when emergency-level, else `warning` (never hidden);
- a program running (or on hold): `info` with the stage, days in it and the pain trend;
- eligible, never had the program and no open review: `info` suggesting the program;
- excluded (contraindicated) or not eligible: no suggestion.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir_rehab import codes as c
from fhir_rehab.program.eligibility import Eligibility, assess_eligibility
from fhir_rehab.program.lifecycle import OPEN_STATUSES
from fhir_rehab.program.model import Program
from fhir_rehab.program.progression import ProgramState, Score
from fhir_rehab.program.redflags import RED_FLAGS, Urgency, escalation_for, red_flag
from fhir_rehab.resources.state import (
    is_review_task,
    parse_conditions,
    parse_program_state,
    parse_screen,
)
from fhir_rehab.resources.wire import Resource, codes_of, parse_instant, ref_id

Card = dict[str, Any]
CARD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{c.CANONICAL_BASE}/cds-hooks/card")
SUGGEST = "suggest-program"
REVIEW = "red-flag-review"
RUNNING = "program-running"
KINDS = (SUGGEST, REVIEW, RUNNING)
TOPICS = {SUGGEST: c.CDS_TOPIC_SUGGEST, REVIEW: c.CDS_TOPIC_REVIEW, RUNNING: c.CDS_TOPIC_RUNNING}
OPEN_REVIEW_STATUSES = OPEN_STATUSES - {"draft"}
LIVE_PLAN = frozenset({"active", "on-hold", "draft"})
MEANINGFUL_PAIN_CHANGE = 2  # points on 0-10 (Ostelo et al., Spine 2008; DESIGN.md)
TREND_SCORES = 5


@dataclass(frozen=True)
class CardContext:
    """Who asks and where the app is: the CDS client (JWT iss), the patient, the launch URL."""

    issuer: str
    patient_id: str
    launch_url: str
    app_version: str
    now: datetime


@dataclass(frozen=True)
class Review:
    """An open review Task as the card shows it."""

    task_id: str
    critical: bool
    findings: tuple[str, ...]
    advice: tuple[str, ...]
    due: datetime | None
    description: str


def kind_of(card: Card) -> str:
    """The kind of a card this module built (from its source topic)."""
    code = ((card.get("source") or {}).get("topic") or {}).get("code")
    return next((kind for kind, topic in TOPICS.items() if topic.code == code), "unknown")


def card_uuid(ctx: CardContext, kind: str, reason: str) -> str:
    """Stable per CDS client, patient, kind and reason (the Condition, review or plan id), so
    feedback on the same advice shown twice is matched.

    >>> ctx = CardContext("https://ehr", "p1", "https://app/launch", "0.1.0", datetime(2026, 1, 1))
    >>> card_uuid(ctx, SUGGEST, "c1") == card_uuid(ctx, SUGGEST, "c1") != card_uuid(ctx, SUGGEST, "c2")
    True
    """
    return str(uuid.uuid5(CARD_NAMESPACE, "|".join((ctx.issuer, ctx.patient_id, kind, reason))))


def build_cards(resources: Sequence[Resource], ctx: CardContext, program: Program) -> list[Card]:
    """Every card for the patient whose resources these are (already checked to be theirs)."""
    eligibility = assess_eligibility(parse_conditions(resources))
    state = parse_program_state(program, ctx.patient_id, list(resources))
    reviews = sorted(open_reviews(resources), key=lambda r: (not r.critical, r.due or ctx.now))
    cards = [review_card(review, ctx, program) for review in reviews]
    if state.careplan_id is not None and state.careplan_status in LIVE_PLAN:
        excluded = eligibility.reason if eligibility.contraindicated else None
        cards.append(running_card(state, ctx, program, excluded))
    elif should_suggest(eligibility, state, reviews):
        cards.append(suggestion_card(eligibility, ctx, program))
    return cards


def should_suggest(eligibility: Eligibility, state: ProgramState, reviews: Sequence[Review]) -> bool:
    """Suggest only to an eligible patient who never had the program and has no open review:
    an ended or stopped program is the clinician's call to repeat, in the app."""
    return (
        eligibility.eligible
        and not eligibility.contraindicated
        and eligibility.match is not None
        and state.episodes == 0
        and not reviews
    )


# -- the cards -------------------------------------------------------------------------------------
def _source(kind: str, ctx: CardContext, program: Program) -> dict[str, Any]:
    return {
        "label": f"fhir-rehab {ctx.app_version}: {program.title} {program.version}",
        "topic": TOPICS[kind].as_coding(),
    }


def _link(label: str, ctx: CardContext) -> dict[str, str]:
    # `smart`: the CDS client adds `iss` and `launch` and performs a SMART EHR launch.
    return {"label": label, "url": ctx.launch_url, "type": "smart"}


def suggestion_card(eligibility: Eligibility, ctx: CardContext, program: Program) -> Card:
    match = eligibility.match
    assert match is not None  # noqa: S101 - should_suggest checked it
    condition = next(r.condition for r in eligibility.reviews if r.match == match)
    label = condition.text or match.coding.display or match.coding.code
    detail = (
        f"Recorded condition: **{escape_markdown(label)}** ({escape_markdown(match.coding.code)}), "
        f"which matches {escape_markdown(match.rule)}.\n\n"
        "The app screens red flags first, then writes a staged plan: "
        + "; ".join(f"{s.number}. {s.title}" for s in program.stages)
        + "."
    )
    suggestion_id = card_uuid(ctx, SUGGEST, f"{match.condition_id}:plan")
    return {
        "uuid": card_uuid(ctx, SUGGEST, match.condition_id),
        "summary": "Staged physiotherapy program for sciatica",
        "detail": detail,
        "indicator": "info",
        "source": _source(SUGGEST, ctx, program),
        "suggestions": [
            {"label": "Plan the program in fhir-rehab", "uuid": suggestion_id, "isRecommended": True}
        ],
        "selectionBehavior": "at-most-one",
        "overrideReasons": [reason.as_coding() for reason in c.CDS_OVERRIDE_REASONS],
        "links": [_link("Open fhir-rehab for this patient", ctx)],
    }


def review_card(review: Review, ctx: CardContext, program: Program) -> Card:
    level = "Emergency red-flag review" if review.critical else "Red-flag review"
    due = _due_words(review.due, ctx.now)
    found = "; ".join(review.findings) if review.findings else escape_markdown(review.description)
    lines = [f"**Found:** {found or 'red flags (details in the app)'}", f"**{due[0].upper()}{due[1:]}.**"]
    lines += [f"**Advice:** {advice}" for advice in review.advice]
    lines.append("Do not start or continue the exercise program until a clinician has recorded the review.")
    return {
        "uuid": card_uuid(ctx, REVIEW, review.task_id),
        "summary": _clip(f"{level} open: {_summary_findings(review)}, {due}"),
        "detail": "\n\n".join(lines),
        "indicator": "critical" if review.critical else "warning",
        "source": _source(REVIEW, ctx, program),
        "links": [_link("Open the red-flag review in fhir-rehab", ctx)],
    }


def running_card(
    state: ProgramState, ctx: CardContext, program: Program, excluded: str | None = None
) -> Card:
    """The program's progress; a `warning` when a recorded Condition now rules the program out."""
    current = state.current
    total = len(program.stages)
    if state.careplan_status == "on-hold":
        # The stage under way is on hold; one that had not started stays ready (R4).
        held = next((s for s in state.stages if s.status == "on-hold"), None) or current
        where = f"stage {held.stage.number} of {total}" if held else "the program"
        summary = f"Sciatica program on hold at {where} for a red-flag review"
        days = ""
    elif current is not None:
        summary = f"Sciatica program: stage {current.stage.number} of {total}, {current.stage.title}"
        since = current.active_since
        days = f"{(ctx.now - since).days} days in this stage" if since else "stage not started yet"
    else:
        summary, days = "Sciatica program running", ""
    lines = [f"**Stage:** {days}." if days else "", f"**Pain:** {describe_pain_trend(state.pain)}."]
    if excluded:
        summary = "Check the running sciatica program: a recorded condition rules it out"
        days = ""
        lines.insert(0, f"**{escape_markdown(excluded)}** Review the program in the app.")
    return {
        "uuid": card_uuid(ctx, RUNNING, state.careplan_id or ""),
        "summary": _clip(summary + (f", {days}" if days else "")),
        "detail": "\n\n".join(line for line in lines if line),
        "indicator": "warning" if excluded else "info",
        "source": _source(RUNNING, ctx, program),
        "links": [_link("Open the program in fhir-rehab", ctx)],
    }


# -- reading the reviews -----------------------------------------------------------------------------
def open_reviews(resources: Iterable[Resource]) -> list[Review]:
    """Each open review Task, with what its screen found when that screen is at hand.

    Emergency level when the Task is `stat` or any finding is an emergency-level red flag
    (a doubt counts as the worse level)."""
    resources = list(resources)
    observations = [r for r in resources if r.get("resourceType") == "Observation"]
    reviews = []
    for task in resources:
        if task.get("resourceType") != "Task" or not is_review_task(task):
            continue
        if task.get("status") not in OPEN_REVIEW_STATUSES:
            continue
        flags = _findings(task, observations)
        emergency = any(f.urgency is Urgency.EMERGENCY for f in flags)
        reviews.append(
            Review(
                task_id=str(task.get("id")),
                critical=task.get("priority") == "stat" or emergency,
                findings=tuple(f.label for f in flags),
                advice=_advice(flags),
                due=parse_instant(((task.get("restriction") or {}).get("period") or {}).get("end")),
                description=str(task.get("description") or "")[:500],
            )
        )
    return reviews


def _advice(flags: list[Any]) -> tuple[str, ...]:
    """The level's clinician advice (program.redflags.escalation_for), then each finding's own."""
    escalation = escalation_for(f.key for f in flags)
    level = [escalation.clinician_advice] if escalation else []
    return tuple(dict.fromkeys([*level, *(f.advice for f in flags)]))


def _findings(task: Resource, observations: list[Resource]) -> list[Any]:
    panel_id = ref_id(task.get("focus"), "Observation") or ref_id(task.get("reasonReference"), "Observation")
    panel_code = (c.APP_RED_FLAG_PANEL.system, c.APP_RED_FLAG_PANEL.code)
    panel = next(
        (o for o in observations if o.get("id") == panel_id and panel_code in codes_of(o.get("code"))), None
    )
    if panel is None:
        return []
    others = [o for o in observations if panel_code not in codes_of(o.get("code"))]
    screen = parse_screen([panel, *others])
    keys = screen.positive_keys if screen else ()
    return [red_flag(key) for key in keys if key in {f.key for f in RED_FLAGS}]


def _summary_findings(review: Review) -> str:
    if not review.findings:
        return "red flags found"
    first = review.findings[0].lower()
    more = len(review.findings) - 1
    return f"{first}" + (f" and {more} more" if more else "")


def _due_words(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "no due time recorded"
    when = due.strftime("%d %b %Y %H:%M UTC")
    if due <= now:
        return f"overdue since {when}"
    return f"due by {when}"


def describe_pain_trend(pain: Sequence[Score]) -> str:
    """The last few pain scores (0-10), oldest first, and which way they go.

    >>> from datetime import UTC
    >>> at = lambda d: datetime(2026, 1, d, tzinfo=UTC)
    >>> describe_pain_trend([Score(7, at(1)), Score(6, at(2)), Score(4, at(3))])
    '7, 6, 4 out of 10 (improving)'
    >>> describe_pain_trend([Score(3, at(1)), Score(6, at(2))])
    '3, 6 out of 10 (worse)'
    >>> describe_pain_trend([Score(5, at(1))])
    'one score so far: 5 out of 10'
    >>> describe_pain_trend([])
    'no pain scores recorded yet'
    """
    scores = sorted(pain, key=lambda s: s.when)[-TREND_SCORES:]
    if not scores:
        return "no pain scores recorded yet"
    if len(scores) == 1:
        return f"one score so far: {scores[0].value} out of 10"
    change = scores[-1].value - scores[0].value
    trend = (
        "improving"
        if change <= -MEANINGFUL_PAIN_CHANGE
        else "worse"
        if change >= MEANINGFUL_PAIN_CHANGE
        else "about the same"
    )
    return f"{', '.join(str(s.value) for s in scores)} out of 10 ({trend})"


# Inline text only (never at a line start), so these are all that can change its meaning.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def escape_markdown(text: str) -> str:
    """Text from the FHIR server shown as plain text inside GitHub-flavoured Markdown.

    >>> print(escape_markdown("[x](javascript:alert(1)) *b* <i>"))
    \\[x\\](javascript:alert(1)) \\*b\\* \\<i\\>
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _clip(text: str, limit: int = 139) -> str:
    """CDS Hooks: `summary` is one sentence under 140 characters."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
