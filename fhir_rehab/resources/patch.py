"""JSON Patch (RFC 6902) documents for a change made on part of a resource.

Why: a coordinator's page reads Tasks with `_elements` (only what its rows show). An update
(PUT) would replace the whole Task and drop what the page did not read; a PATCH changes only
the elements the action changes, so the action needs no read of the whole Task first.

The document is built from the resource as the page read it (`before`, at a known version)
and the same resource after the change (`after`), both holding only the elements read:

- it starts with `test /meta/versionId`: the change applies only to the version the user saw
  (JSON Patch fails whole when a test fails; HAPI answers 400, `JsonPatchUtils` HAPI-1272).
  This is the precondition, inside the patch itself, on every server that applies JSON Patch;
- an element the change set is `add`ed (RFC 6902 4.1: add on an object member replaces it);
  one it dropped is `remove`d; items appended to an array that was read are added at `/-`, so
  an array is never replaced by a shorter copy;
- the generated narrative is rebuilt from the changed elements (they are every element the
  narrative shows: resources.narrative) and replaced only after `test /text/status generated`:
  a narrative someone wrote by hand (or none) fails the patch rather than being overwritten.
"""

from __future__ import annotations

from typing import Any

from fhir_rehab.resources.narrative import with_narrative
from fhir_rehab.resources.wire import Resource

Operation = dict[str, Any]
_FIXED = frozenset({"resourceType", "id", "meta", "text"})


def patch_document(before: Resource, after: Resource, version: str) -> list[Operation]:
    """The operations that turn `before` (at `version`) into `after`, elements read only.

    >>> before = {"resourceType": "Basic", "note": [1]}
    >>> ops = patch_document(before, {**before, "note": [1, 2]}, "3")
    >>> ops[0], ops[1]
    ({'op': 'test', 'path': '/meta/versionId', 'value': '3'}, {'op': 'add', 'path': '/note/-', 'value': 2})
    """
    ops: list[Operation] = [{"op": "test", "path": "/meta/versionId", "value": version}]
    for key in sorted((set(before) | set(after)) - _FIXED):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if new is None:
            ops.append({"op": "remove", "path": f"/{key}"})
        elif isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old:
            ops += [{"op": "add", "path": f"/{key}/-", "value": item} for item in new[len(old) :]]
        else:
            ops.append({"op": "add", "path": f"/{key}", "value": new})
    return ops + narrative_operations(after)


def narrative_operations(after: Resource) -> list[Operation]:
    """Replace a generated narrative with one rebuilt from `after`; none for types without one."""
    text = with_narrative({k: v for k, v in after.items() if k != "text"}).get("text")
    if text is None:
        return []
    return [
        {"op": "test", "path": "/text/status", "value": "generated"},
        {"op": "add", "path": "/text", "value": text},
    ]
