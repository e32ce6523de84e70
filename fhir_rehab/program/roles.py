"""Who may do what to a Task: the coordinator's permissions (pure; README "Roles").

A coordinator organises the work: claims, accepts (as owner), assigns, follows up and adds
notes, and may put a stage on hold (and resume it, unless a red flag holds it). Clinical acts
are the clinician's: closing, cancelling or holding a medical review (only a recorded review
closes it), and completing or cancelling a clinical stage.
"""

from __future__ import annotations

COORDINATOR_ACTIONS: dict[str, frozenset[str]] = {
    "review": frozenset({"claim", "accept", "assign", "start", "note"}),
    "stage": frozenset({"claim", "accept", "assign", "start", "hold", "resume", "note"}),
    "followup": frozenset({"claim", "accept", "assign", "start", "note"}),
    # The care team's own call back to a patient (issue 13): the coordinator's to finish.
    "follow-up": frozenset(
        {"claim", "accept", "assign", "start", "hold", "resume", "complete", "cancel", "note"}
    ),
}

_REVIEW_HOLD = "a medical review cannot be put on hold; it stays on the list until a clinician records it"
_STAGE_DONE = "completing a stage is a clinical decision: the clinician completes it on the patient's page"
_STAGE_STOP = "stopping therapy is a clinical decision: the clinician stops the program on the patient's page"
_FOLLOW_UP = "a follow-up closes itself: the repeated screen or the clinician's recorded review"
_WHY = {
    ("review", "complete"): "only a clinician closes a medical review, by recording it on the patient's page",
    ("review", "cancel"): "a medical review cannot be cancelled; a clinician records its outcome",
    ("review", "hold"): _REVIEW_HOLD,
    ("review", "resume"): "a clinician records the review on the patient's page",
    ("stage", "complete"): _STAGE_DONE,
    ("stage", "cancel"): _STAGE_STOP,
    ("followup", "complete"): _FOLLOW_UP,
    ("followup", "cancel"): _FOLLOW_UP,
    ("followup", "hold"): _FOLLOW_UP,
}


def coordinator_refusal(kind: str, action: str) -> str | None:
    """Why a coordinator may not do `action` on a Task of `kind`, or None when allowed.

    >>> coordinator_refusal("review", "claim") is None
    True
    >>> coordinator_refusal("stage", "complete").startswith("Coordinators cannot do this: completing")
    True
    """
    if action in COORDINATOR_ACTIONS.get(kind, frozenset()):
        return None
    why = _WHY.get((kind, action), "this is not one of the coordinator's actions")
    return f"Coordinators cannot do this: {why}."
