"""The task text handed to the agent as ``MATE_TASK`` (SPEC §6.3): what happened, where, on which
object, and for mentions the comment itself. Pure: a job snapshot in, text out.

Every value in it comes from GitLab or a payload (titles, labels, usernames, branch names, the
note), so none may look like Mate's own words (THREATS T37):

* a single-line field keeps no line break or other control or format character (each becomes a
  space), so it stays on the line Mate began; every line of the task starts with Mate's own
  words (``Project: ``, ``Labels: ``...) or with ``> `` of the quoted comment, never with a field;
* every field has its own length cap and a marker where it was cut;
* the whole task is at most ``MAX_TASK_BYTES``.
"""

from __future__ import annotations

import unicodedata

# The whole task, in UTF-8 bytes. It travels twice through exec: as the MATE_TASK variable and as
# claude's `-p` argument; Linux refuses any single argument or variable over 128 KiB, and all of
# them together share ARG_MAX with the system prompt. 64 KiB (about 16,000 tokens) is far more
# than a headline, a few fields and a long comment need, and leaves that room.
MAX_TASK_BYTES = 64 * 1024
MAX_QUOTE = 32_000  # characters of a comment quoted into the task
MAX_LABELS = 50  # labels listed; the rest are counted
# Characters of each single-line field (GitLab's own limits: titles 255, usernames 255, label
# names 255; git allows longer branch names than anyone reads).
FIELD_CAPS = {
    "title": 300,
    "label": 100,
    "user": 100,
    "branch": 255,
    "project": 300,
    "url": 2000,
    "word": 100,  # event names, object kinds, ids
}
CUT = "…[cut]"
# Unicode categories that must not reach the task: controls (newlines included), format
# characters (bidi overrides, zero-width), surrogates, line and paragraph separators.
_REMOVED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}

_OBJECT_NAMES = {"issue": "issue", "merge_request": "merge request", "pipeline": "pipeline"}


def _clean(text: str, keep: str = "") -> str:
    return "".join(
        " " if ch not in keep and unicodedata.category(ch) in _REMOVED_CATEGORIES else ch
        for ch in text
    )


def field(value: object, kind: str = "word") -> str:
    """One single-line field: no control characters, runs of spaces folded, cut at its cap."""
    text = " ".join(_clean(str(value)).split())
    cap = FIELD_CAPS[kind]
    return text if len(text) <= cap else text[:cap] + CUT


def _object_label(event: dict) -> str:
    kind = event.get("object_kind")
    iid = field(event.get("object_iid"))
    if kind == "issue":
        text = f"issue #{iid}"
    elif kind == "merge_request":
        text = f"merge request !{iid}"
    elif kind == "pipeline":
        text = f"pipeline #{field(event.get('pipeline_id'))}"
        if event.get("object_iid") is not None:
            text += f" of merge request !{iid}"
    else:
        text = _OBJECT_NAMES.get(str(kind), field(kind or "object"))
    title = event.get("title")
    if title and kind != "pipeline":
        text += f' "{field(title, "title")}"'
    return text


def _who(name: object) -> str:
    return f"@{field(name, 'user')}" if name else "someone"


def _headline(event: dict, bot: str, project: str) -> str:
    obj = _object_label(event)
    name = event.get("event")
    author = _who(event.get("author"))
    if name == "issue_assigned" or name == "mr_assigned":
        return f"You (@{bot}) were assigned to {obj} in {project}."
    if name == "mr_opened":
        branches = ""
        if event.get("source_branch") and event.get("target_branch"):
            source = field(event["source_branch"], "branch")
            branches = f" ({source} → {field(event['target_branch'], 'branch')})"
        return f"{author} opened {obj}{branches} in {project}, and you (@{bot}) are on it."
    if name == "comment_mention":
        return f"{author} mentioned you (@{bot}) in a comment on {obj} in {project}."
    if name == "label_applied":
        label = field(event.get("new_label"), "label")
        return f'The label "{label}" was applied to {obj} in {project}.'
    if name == "pipeline_failed":
        ref = f" on {field(event['ref'], 'branch')}" if event.get("ref") else ""
        return f"The {obj}{ref} failed in {project}."
    return f"Event {field(name)} on {obj} in {project}."


def _labels(labels: list | tuple) -> str:
    shown = [field(label, "label") for label in labels[:MAX_LABELS]]
    more = len(labels) - len(shown)
    return "Labels: " + ", ".join(shown) + (f" (and {more} more)" if more > 0 else "")


def _quote(text: str) -> str:
    """The comment, every line behind ``> ``; line breaks of any kind end a line, other control
    characters become spaces (tabs stay)."""
    text = str(text)
    cut = len(text) > MAX_QUOTE
    lines = [f"> {_clean(line, keep=chr(9))}" for line in text[:MAX_QUOTE].splitlines()]
    if cut:
        lines.append("[comment truncated]")
    return "\n".join(lines) or ">"


def _fit(text: str, limit: int = MAX_TASK_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes, with a marker on a line of its own."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    marker = f"\n[task cut at {limit} bytes]\n"
    keep = raw[: limit - len(marker.encode("utf-8"))].decode("utf-8", "ignore")
    return keep + marker


def build_task(snapshot: dict) -> str:
    """The task text for a job, from its frozen snapshot."""
    event = snapshot.get("event") or {}
    path = (snapshot.get("project") or {}).get("path")
    project = field(path, "project") if path else f"project {field(event.get('project_id'))}"
    bot = field(snapshot.get("bot") or event.get("bot") or "mate", "user")
    parts = [_headline(event, bot, project), ""]
    parts.append(f"Project: {project}")
    parts.append(f"Object: {_object_label(event)}")
    if event.get("url"):
        parts.append(f"URL: {field(event['url'], 'url')}")
    ref = (snapshot.get("config") or {}).get("ref")
    if ref:
        parts.append(f"Branch checked out: {field(ref, 'branch')}")
    if isinstance(event.get("labels"), list | tuple) and event["labels"]:
        parts.append(_labels(event["labels"]))
    if event.get("event") == "comment_mention" and event.get("note_body"):
        parts += ["", f"The comment by {_who(event.get('author'))}:", _quote(event["note_body"])]
    return _fit("\n".join(parts) + "\n")
