"""Who caused a delivery, and whether Mate did (SPEC §5.2 "The actor", "Events Mate caused").

The actor is the payload's `user` (who assigned, labelled, opened or commented); a Note Hook
also names the note's author in `object_attributes.author_id`. Mate caused an event when the
actor is one of the tenant's bots or the user of a per-job key Mate minted for the tenant (the
caller passes those user ids in: detection stays pure). A GitLab project or group access-token
user (`project_<n>_bot_<suffix>`, `group_<n>_bot_<suffix>`) is a bot, never a person asking
for help, whoever minted it. The same users, as authors of an MR, make its source branch
untrusted for `.mate.yml` (SPEC §5.3 step 1).
"""

from __future__ import annotations

import re

from .payload import JsonObject, Person, int_at, obj_at, person

MATE_CAUSED = "caused by Mate's own job"
GITLAB_BOT_CAUSED = "caused by a GitLab bot user"
MATE_MR_REASON = "MR opened by Mate's own job: using target default branch"

# GitLab's resource access-token users: `project_<id>_bot_<hex>` (GitLab 16+), and the older
# `project_<id>_bot` / `project_<id>_bot<n>` forms; the same with `group_`.
_TOKEN_USER = re.compile(r"(?:project|group)_[0-9]+_bot(?:_[0-9A-Za-z]+|[0-9]*)")


def is_gitlab_bot_username(username: str | None) -> bool:
    """Whether `username` is a GitLab project or group access-token user."""
    return isinstance(username, str) and _TOKEN_USER.fullmatch(username) is not None


def involved_user_ids(payload: object) -> frozenset[int]:
    """The user ids of a delivery that may be Mate's: actor, note author, MR author.

    Routing looks these (and only these) up among the users of the tokens Mate minted, so the
    lookup is bounded by the payload, not by the number of jobs the tenant ever ran.
    """
    root = payload if isinstance(payload, dict) else None
    if root is None:
        return frozenset()
    attrs = obj_at(root, "object_attributes")
    candidates = (
        int_at(obj_at(root, "user"), "id"),
        int_at(attrs, "author_id"),
        int_at(obj_at(root, "merge_request"), "author_id"),
    )
    return frozenset(uid for uid in candidates if uid is not None)


def actor_of(root: JsonObject, is_note: bool) -> tuple[Person | None, int | None]:
    """The delivery's actor (`user`) and, for a note, its author's id (the same user)."""
    actor = person(obj_at(root, "user") or {})
    note_author = int_at(obj_at(root, "object_attributes"), "author_id") if is_note else None
    return actor, note_author
