"""Card rules on hand-made resources (pure): open reviews fail closed, summaries stay short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import red_flag
from fhir_rehab.program.sciatica import SCIATICA_PROGRAM
from fhir_rehab.services.cds_cards import CardContext, build_cards, open_reviews
from tests.support.cds import check_card

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CTX = CardContext("https://ehr.example", "p1", "https://app.example/launch", "0.1.0", NOW)


def review_task(
    task_id="t1", priority="urgent", focus=None, description="Red flags present.", status="requested"
):
    task = {
        "resourceType": "Task",
        "id": task_id,
        "status": status,
        "intent": "order",
        "priority": priority,
        "code": {"coding": [c.APP_MEDICAL_REVIEW.as_coding()]},
        "for": {"reference": "Patient/p1"},
        "description": description,
        "restriction": {"period": {"end": (NOW + timedelta(hours=4)).isoformat()}},
    }
    if priority is None:
        del task["priority"]
    if focus:
        task["focus"] = {"reference": f"Observation/{focus}"}
    return task


def screen(panel_id, positive):
    panel = {
        "resourceType": "Observation",
        "id": panel_id,
        "status": "final",
        "code": {"coding": [c.APP_RED_FLAG_PANEL.as_coding()]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": NOW.isoformat(),
        "hasMember": [{"reference": f"Observation/{panel_id}-a"}],
    }
    answer = {
        "resourceType": "Observation",
        "id": f"{panel_id}-a",
        "status": "final",
        "code": {"coding": [positive.as_coding()]},
        "subject": {"reference": "Patient/p1"},
        "valueCodeableConcept": {"coding": [c.SCT_PRESENT.as_coding()]},
    }
    return [panel, answer]


def test_an_emergency_finding_makes_the_card_critical_whatever_the_priority():
    (review,) = open_reviews([review_task(priority="urgent", focus="s1"), *screen("s1", c.APP_BLADDER_BOWEL)])
    assert review.critical and review.findings == (red_flag("bladder-bowel").label,)


def test_stat_priority_is_critical_even_without_the_screen():
    (card,) = build_cards([review_task(priority="stat")], CTX, SCIATICA_PROGRAM)
    check_card(card)
    assert card["indicator"] == "critical"


def test_a_review_without_priority_or_screen_still_warns_with_its_description_escaped():
    task = review_task(priority=None, description="Red flags: [click](javascript:x) *now*")
    (card,) = build_cards([task], CTX, SCIATICA_PROGRAM)
    check_card(card)
    assert card["indicator"] == "warning"
    assert "\\[click\\](javascript:x) \\*now\\*" in card["detail"]


def test_closed_reviews_give_no_card():
    assert build_cards([review_task(status="completed")], CTX, SCIATICA_PROGRAM) == []


def test_overdue_review_says_so_and_critical_cards_come_first():
    late = review_task("t2", priority="urgent")
    late["restriction"]["period"]["end"] = (NOW - timedelta(hours=1)).isoformat()
    cards = build_cards([late, review_task("t3", priority="stat")], CTX, SCIATICA_PROGRAM)
    assert [card["indicator"] for card in cards] == ["critical", "warning"]
    assert "overdue since" in cards[1]["summary"]
    assert all(len(card["summary"]) < 140 for card in cards)
