"""Which change of its object an event is: the payload's action and timestamp (SPEC §5.1).

Routing deduplicates events by identity (project, object, action and `updated_at`, or the note
id): the same GitLab event reaching Mate through two hooks, or resent by hand before GitLab
17.4, carries the same values; a later change of the same object carries a later `updated_at`.
"""

from __future__ import annotations

from dataclasses import replace

from .model import PIPELINE_HOOK, Derivation
from .payload import JsonObject, obj_at, str_at


def occurrence(hook_type: str, root: JsonObject) -> tuple[str | None, str | None]:
    """(action, updated_at) of the delivery's object; for a pipeline (status, finished_at),
    falling back to `created_at` for a pipeline that has not finished."""
    attrs = obj_at(root, "object_attributes")
    if hook_type == PIPELINE_HOOK:
        finished = str_at(attrs, "finished_at") or str_at(attrs, "created_at")
        return str_at(attrs, "status"), finished
    return str_at(attrs, "action"), str_at(attrs, "updated_at")


def stamped(derivation: Derivation, hook_type: str, root: JsonObject) -> Derivation:
    """`derivation` with every event carrying the delivery's `occurrence`."""
    if not derivation.events:
        return derivation
    action, updated_at = occurrence(hook_type, root)
    events = [replace(e, action=action, updated_at=updated_at) for e in derivation.events]
    return Derivation(events, derivation.ignored)
