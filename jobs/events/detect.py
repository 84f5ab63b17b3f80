"""Delivery → events (SPEC §5.2): pure, no I/O, never raises on any JSON payload."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from .actors import actor_of
from .assignments import issue_hook, merge_request_hook
from .gitlab_test import GITLAB_TEST_DELIVERY, is_gitlab_test
from .model import ISSUE_HOOKS, MERGE_REQUEST_HOOK, NOTE_HOOKS, PIPELINE_HOOK, BotRef, Derivation
from .notes import note_hook
from .occurrence import stamped
from .outcome import NO_BOT, ignored, malformed, printable
from .payload import JsonObject, as_object
from .pipelines import pipeline_hook
from .roster import Roster

_HANDLERS: dict[str, Callable[[JsonObject, Roster], Derivation]] = {
    MERGE_REQUEST_HOOK: merge_request_hook,
    PIPELINE_HOOK: pipeline_hook,
    **dict.fromkeys(ISSUE_HOOKS, issue_hook),
    **dict.fromkeys(NOTE_HOOKS, note_hook),
}


def derive_events(
    hook_type: str,
    payload: object,
    bots: Sequence[BotRef],
    default_bot: str | None,
    minted_user_ids: Iterable[int] = (),
) -> Derivation:
    """The Mate events of one delivery, in SPEC §5.2 order, or the reason there are none.

    `hook_type` is the `X-Gitlab-Event` header, `payload` the parsed JSON body (untrusted: any
    shape is accepted), `bots` the tenant's registered bots in registration order and
    `default_bot` the default bot's username, `minted_user_ids` the GitLab user ids of the
    tokens Mate minted for the tenant (at least those among `actors.involved_user_ids`). An
    event Mate caused (SPEC §5.2) is ignored, except a failed pipeline, and so is a delivery
    GitLab's Test button built (`gitlab_test`). The acting bot of every
    event is a registered bot. Events that would start the same job (same `dedupe_key()`) are
    returned once.
    """
    if not isinstance(hook_type, str) or hook_type not in _HANDLERS:
        return ignored(f"unsupported hook type {printable(hook_type)}")
    root = as_object(payload)
    if root is None:
        return malformed("the body is not a JSON object")
    roster = Roster.of(bots, default_bot, minted_user_ids)
    if not roster.bots:
        return ignored(NO_BOT)
    actor, note_author = actor_of(root, hook_type in NOTE_HOOKS)
    if hook_type != PIPELINE_HOOK:
        caused = roster.caused_by(actor, note_author)
        if caused is not None:
            return ignored(caused)
    if is_gitlab_test(hook_type, root):
        return ignored(GITLAB_TEST_DELIVERY)
    derived = stamped(_HANDLERS[hook_type](root, roster), hook_type, root)
    if actor is None or not derived.events:
        return derived
    events = [replace(e, actor_id=actor.user_id, actor=actor.username) for e in derived.events]
    return Derivation(events, derived.ignored)
