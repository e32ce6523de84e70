"""CDS Hooks 2.0 feedback: check each item, store it once, and count how often advice is taken."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir_rehab.cds.errors import BadHookRequest
from fhir_rehab.cds.store import CdsStore, digest
from fhir_rehab.resources.wire import fhir_instant, parse_instant

OUTCOMES = ("accepted", "overridden")
MAX_ITEMS = 100
MAX_TEXT = 500


@dataclass(frozen=True)
class FeedbackItem:
    card: str
    outcome: str
    accepted: tuple[str, ...]
    reason: dict[str, str] | None
    comment: str | None
    timestamp: str

    def key(self, issuer: str) -> str:
        """Same item, same key: a resent item is stored once."""
        reason = (self.reason or {}).get("code", "")
        return digest(
            issuer, self.card, self.outcome, self.timestamp, ",".join(sorted(self.accepted)), reason
        )


def _text(value: Any, what: str, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadHookRequest(f"{what} must be a non-empty string of at most {limit} characters.")
    return value


def parse_feedback(body: Any) -> list[FeedbackItem]:
    """Every item, or BadHookRequest naming the first that is wrong (then nothing is stored).

    >>> parse_feedback({"feedback": [{"card": "c", "outcome": "overridden",
    ...                 "outcomeTimestamp": "2026-01-01T00:00:00Z"}]})[0].outcome
    'overridden'
    """
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise BadHookRequest(f"The body must be {{'feedback': [...]}} with 1 to {MAX_ITEMS} items.")
    return [_item(raw, n) for n, raw in enumerate(items, start=1)]


def _item(raw: Any, n: int) -> FeedbackItem:
    if not isinstance(raw, dict):
        raise BadHookRequest(f"Feedback item {n} must be an object.")
    card = _text(raw.get("card"), f"Item {n}: card", limit=128)
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES:
        raise BadHookRequest(f"Item {n}: outcome must be accepted or overridden.")
    stamp = raw.get("outcomeTimestamp")
    try:
        when = parse_instant(stamp) if isinstance(stamp, str) else None
    except ValueError:
        when = None
    if when is None:
        raise BadHookRequest(f"Item {n}: outcomeTimestamp must be an ISO timestamp.")
    accepted = raw.get("acceptedSuggestions") or []
    if outcome == "accepted" and not accepted:
        raise BadHookRequest(f"Item {n}: an accepted outcome needs acceptedSuggestions.")
    if not isinstance(accepted, list) or not all(isinstance(a, dict) for a in accepted):
        raise BadHookRequest(f"Item {n}: acceptedSuggestions must be a list of objects.")
    ids = tuple(_text(a.get("id"), f"Item {n}: acceptedSuggestions id", limit=128) for a in accepted)
    reason, comment = _override(raw.get("overrideReason"), n)
    return FeedbackItem(card, outcome, ids, reason, comment, fhir_instant(when))


def _override(raw: Any, n: int) -> tuple[dict[str, str] | None, str | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise BadHookRequest(f"Item {n}: overrideReason must be an object.")
    reason = None
    coding = raw.get("reason")
    if coding is not None:
        if not isinstance(coding, dict):
            raise BadHookRequest(f"Item {n}: overrideReason.reason must be a Coding.")
        reason = {
            k: _text(coding[k], f"Item {n}: overrideReason.reason.{k}", limit=256)
            for k in ("system", "code", "display")
            if coding.get(k) is not None
        }
        if "code" not in reason:
            raise BadHookRequest(f"Item {n}: overrideReason.reason needs a code.")
    comment = raw.get("userComment")
    if comment is not None:
        if not isinstance(comment, str):
            raise BadHookRequest(f"Item {n}: overrideReason.userComment must be text.")
        comment = comment.strip()[:MAX_TEXT] or None
    return reason, comment


def store_feedback(
    store: CdsStore, issuer: str, items: Sequence[FeedbackItem], *, now: datetime
) -> tuple[int, int]:
    """Store each item once; (new, already stored). The card's kind comes from the cards the
    service issued (`unknown` for a card it does not remember)."""
    stored = repeated = 0
    for item in items:
        record = {
            "card": item.card,
            "kind": store.card_kind(item.card) or "unknown",
            "outcome": item.outcome,
            "acceptedSuggestions": list(item.accepted),
            "overrideReason": item.reason,
            "userComment": item.comment,
            "outcomeTimestamp": item.timestamp,
            "issuer": issuer,
            "receivedAt": fhir_instant(now),
        }
        if store.add_feedback(item.key(issuer), record):
            stored += 1
        else:
            repeated += 1
    return stored, repeated


@dataclass(frozen=True)
class KindCounts:
    kind: str
    shown: int
    accepted: int
    overridden: int
    reasons: dict[str, int]

    @property
    def taken(self) -> str:
        """Accepted as a share of the cards that got any feedback.

        >>> KindCounts("k", 4, 1, 3, {}).taken
        '25%'
        """
        answered = self.accepted + self.overridden
        return f"{round(100 * self.accepted / answered)}%" if answered else "-"


def count_feedback(records: Iterable[Mapping[str, Any]], issued: Mapping[str, str]) -> list[KindCounts]:
    """Per card kind: distinct cards shown, feedback items accepted and overridden, and why."""
    kinds: dict[str, dict[str, Any]] = {}

    def row(kind: str) -> dict[str, Any]:
        return kinds.setdefault(kind, {"shown": 0, "accepted": 0, "overridden": 0, "reasons": {}})

    for kind in issued.values():
        row(kind)["shown"] += 1
    for record in records:
        counts = row(str(record.get("kind") or "unknown"))
        outcome = record.get("outcome")
        if outcome in OUTCOMES:
            counts[outcome] += 1
        if outcome == "overridden":
            reason = (record.get("overrideReason") or {}).get("display") or "no reason given"
            counts["reasons"][reason] = counts["reasons"].get(reason, 0) + 1
    return [KindCounts(kind, **values) for kind, values in sorted(kinds.items())]
