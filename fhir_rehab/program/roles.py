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
    # Every follow-up (one kind): a call back is the coordinator's to finish; one the program
    # closes itself (a repeat screen, a progress review) is not (coordinator_refusal).
    "follow-up": frozenset(
        {"claim", "accept", "assign", "start", "hold", "resume", "complete", "cancel", "note"}
    ),
}
_CLOSES_ITSELF = frozenset({"complete", "cancel", "hold", "resume"})

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
}


def coordinator_refusal(kind: str, action: str, *, closes_itself: bool = False) -> str | None:
    """Why a coordinator may not do `action` on a Task of `kind`, or None when allowed.
    `closes_itself`: a follow-up the program closes (the next screen, a recorded review).

    >>> coordinator_refusal("review", "claim") is None
    True
    >>> coordinator_refusal("stage", "complete").startswith("Coordinators cannot do this: completing")
    True
    >>> coordinator_refusal("follow-up", "complete") is None
    True
    >>> coordinator_refusal("follow-up", "complete", closes_itself=True).endswith("recorded review.")
    True
    """
    if kind == "follow-up" and closes_itself and action in _CLOSES_ITSELF:
        return f"Coordinators cannot do this: {_FOLLOW_UP}."
    if action in COORDINATOR_ACTIONS.get(kind, frozenset()):
        return None
    why = _WHY.get((kind, action), "this is not one of the coordinator's actions")
    return f"Coordinators cannot do this: {why}."
