"""Note Hook: comment_mention for each registered bot a human mentions (SPEC §5.2)."""

from __future__ import annotations

from .mentions import mentioned_usernames
from .model import Derivation
from .outcome import NO_ATTRIBUTES, NO_BOT, NO_PROJECT, ignored, malformed, printable, result
from .payload import (
    JsonObject,
    bool_at,
    current_assignees,
    int_at,
    label_titles,
    list_at,
    obj_at,
    people,
    person,
    str_at,
    username_index,
)
from .roster import Roster
from .subject import Subject, object_subject, read_project


def note_hook(root: JsonObject, roster: Roster) -> Derivation:
    """comment_mention per registered bot mentioned in a new, human note on an issue/MR."""
    attrs = obj_at(root, "object_attributes")
    if attrs is None:
        return malformed(NO_ATTRIBUTES)
    skip = _note_skip_reason(root, attrs)
    if skip is not None:
        return ignored(skip)
    body = str_at(attrs, "note")
    if body is None:
        return malformed("object_attributes.note is missing or not a string")
    subject = _note_subject(root, attrs, roster)
    if isinstance(subject, str):
        return malformed(subject)
    named = mentioned_usernames(body, [bot.username for bot in roster.bots])
    bots = [bot for bot in (roster.named(n) for n in named) if bot is not None]
    note_id = int_at(attrs, "id")
    events = [subject.event("comment_mention", b, note_id=note_id, note_body=body) for b in bots]
    return result(events, NO_BOT)


def _note_skip_reason(root: JsonObject, attrs: JsonObject) -> str | None:
    """Why a note yields no mention whatever it says, or None (notes Mate caused never reach
    this: `derive_events` ignores them first)."""
    if bool_at(attrs, "system") is True:
        return "system note"
    noteable = str_at(attrs, "noteable_type")
    if noteable in ("Commit", "Snippet"):
        return "note on a commit/snippet"
    if noteable not in ("Issue", "MergeRequest"):
        return f"note on unsupported noteable type {printable(noteable)}"
    if noteable == "Issue":
        kind = str_at(obj_at(root, "issue"), "type")
        if kind not in (None, "Issue"):
            return f"note on a work item of type {printable(kind)}, not an issue"
    if str_at(attrs, "action") == "update":
        return "note edited: only new notes are read for mentions"
    return None


def _note_subject(root: JsonObject, attrs: JsonObject, roster: Roster) -> Subject | str:
    """The issue or MR a note is on; the author is the comment's author."""
    project = read_project(root)
    if project is None:
        return NO_PROJECT
    is_issue = str_at(attrs, "noteable_type") == "Issue"
    key = "issue" if is_issue else "merge_request"
    obj = obj_at(root, key)
    if obj is None:
        return f"{key} is missing or not an object"
    actor = person(obj_at(root, "user") or {})
    listed = people(list_at(obj, "assignees"))
    index = username_index([listed, (actor,) if actor else (), roster.people()])
    assignees = current_assignees(obj, [listed], index)
    labels = label_titles(list_at(obj, "labels")) or ()
    author = actor.username if actor else None
    url = str_at(obj, "url") or _without_fragment(str_at(attrs, "url"))
    untrusted = not is_issue and roster.authored_by_mate(int_at(obj, "author_id"), index)
    return object_subject(key, obj, project, assignees, labels, author, url, untrusted)


def _without_fragment(url: str | None) -> str | None:
    """A note URL without its `#note_...` fragment: the URL of the issue/MR."""
    return url.split("#", 1)[0] if url else None
