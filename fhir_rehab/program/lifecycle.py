"""The FHIR R4 Task state machine, as the app applies it to stage and review Tasks."""

from __future__ import annotations

from collections.abc import Mapping

from fhir_rehab.program.errors import IllegalTransition

# R4 Task "state machine" (task.html#statemachine). `ready` replaces requested/received/accepted
# when assignment is a given (our case: the program assigns the stage), so draft -> ready is the
# path a later stage takes when the previous one completes. R4 on-hold is "started, but work has
# been paused": only an in-progress Task goes on hold. A red flag that stops a program whose
# current stage has not started holds the CarePlan (and the review Task says why); the stage
# stays ready. on-hold -> ready/draft remain only to undo holds older versions of the app put on
# stages that had never started.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"requested", "ready", "cancelled", "entered-in-error"}),
    "requested": frozenset({"received", "accepted", "rejected", "ready", "cancelled", "entered-in-error"}),
    "received": frozenset({"accepted", "rejected", "ready", "cancelled", "entered-in-error"}),
    "accepted": frozenset({"ready", "in-progress", "cancelled", "entered-in-error"}),
    "ready": frozenset({"in-progress", "cancelled", "failed", "entered-in-error"}),
    "in-progress": frozenset({"completed", "on-hold", "failed", "cancelled", "entered-in-error"}),
    "on-hold": frozenset({"draft", "ready", "in-progress", "cancelled", "failed", "entered-in-error"}),
    "completed": frozenset({"entered-in-error"}),
    "failed": frozenset({"entered-in-error"}),
    "cancelled": frozenset({"entered-in-error"}),
    "rejected": frozenset({"entered-in-error"}),
    "entered-in-error": frozenset(),
}
# Open and actionable now (the worklist's "open", an open review): every unfinished status but
# draft, which a later stage keeps until the one before it completes. In R4's order.
ACTIONABLE_STATUSES = ("requested", "received", "accepted", "ready", "in-progress", "on-hold")
# Not finished: actionable or draft.
OPEN_STATUSES = frozenset({"draft", *ACTIONABLE_STATUSES})
ACTIVE_STATUSES = OPEN_STATUSES - {"draft", "on-hold"}


def check_transition(current: str, target: str) -> None:
    """Raise IllegalTransition, with a reason a user can read, unless current -> target is allowed.

    >>> check_transition("ready", "in-progress")
    >>> try:
    ...     check_transition("completed", "in-progress")
    ... except IllegalTransition as exc:
    ...     print(exc)
    A completed task cannot become in-progress; allowed next: entered-in-error.
    """
    if current not in TRANSITIONS:
        raise IllegalTransition(f"Unknown task status {current!r}.")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "none (final state)"
        raise IllegalTransition(f"A {current} task cannot become {target}; allowed next: {options}.")


def transition_path(current: str, target: str) -> list[str]:
    """The shortest chain of allowed steps from `current` to `target` (excluding `current`).

    >>> transition_path("requested", "completed")
    ['accepted', 'in-progress', 'completed']
    >>> transition_path("ready", "completed")
    ['in-progress', 'completed']
    """
    frontier, seen = [[current]], {current}
    while frontier:
        nxt = []
        for path in frontier:
            for step in sorted(TRANSITIONS.get(path[-1], ())):
                if step == target:
                    return [*path[1:], step]
                if step not in seen and step in ACTIVE_STATUSES:
                    seen.add(step)
                    nxt.append([*path, step])
        frontier = nxt
    check_transition(current, target)  # raises with the reason
    return [target]


def resume_status(started: bool) -> str:
    """Where a Task goes back to when a hold is lifted: in-progress if work had started."""
    return "in-progress" if started else "ready"
