"""The task text handed to the agent as ``MATE_TASK`` (SPEC §6.3): what happened, where, on which
object, and for mentions the comment itself. Pure: a job snapshot in, text out."""

from __future__ import annotations

MAX_QUOTE = 32_000  # characters of a comment quoted into the task

_OBJECT_NAMES = {"issue": "issue", "merge_request": "merge request", "pipeline": "pipeline"}


def _object_label(event: dict) -> str:
    kind = event.get("object_kind")
    iid = event.get("object_iid")
    if kind == "issue":
        text = f"issue #{iid}"
    elif kind == "merge_request":
        text = f"merge request !{iid}"
    elif kind == "pipeline":
        text = f"pipeline #{event.get('pipeline_id')}"
        if iid is not None:
            text += f" of merge request !{iid}"
    else:
        text = _OBJECT_NAMES.get(kind, str(kind or "object"))
    title = event.get("title")
    if title and kind != "pipeline":
        text += f' "{title}"'
    return text


def _who(name: object) -> str:
    return f"@{name}" if name else "someone"


def _headline(event: dict, bot: str, project: str) -> str:
    obj = _object_label(event)
    name = event.get("event")
    author = _who(event.get("author"))
    if name == "issue_assigned" or name == "mr_assigned":
        return f"You (@{bot}) were assigned to {obj} in {project}."
    if name == "mr_opened":
        branches = ""
        if event.get("source_branch") and event.get("target_branch"):
            branches = f" ({event['source_branch']} → {event['target_branch']})"
        return f"{author} opened {obj}{branches} in {project}, and you (@{bot}) are on it."
    if name == "comment_mention":
        return f"{author} mentioned you (@{bot}) in a comment on {obj} in {project}."
    if name == "label_applied":
        return f'The label "{event.get("new_label")}" was applied to {obj} in {project}.'
    if name == "pipeline_failed":
        ref = f" on {event['ref']}" if event.get("ref") else ""
        return f"The {obj}{ref} failed in {project}."
    return f"Event {name} on {obj} in {project}."


def _quote(text: str) -> str:
    if len(text) > MAX_QUOTE:
        text = text[:MAX_QUOTE] + "\n[comment truncated]"
    return "\n".join(f"> {line}" for line in text.splitlines()) or ">"


def build_task(snapshot: dict) -> str:
    """The task text for a job, from its frozen snapshot."""
    event = snapshot.get("event") or {}
    project = (snapshot.get("project") or {}).get("path") or f"project {event.get('project_id')}"
    bot = snapshot.get("bot") or event.get("bot") or "mate"
    parts = [_headline(event, bot, project), ""]
    parts.append(f"Project: {project}")
    parts.append(f"Object: {_object_label(event)}")
    if event.get("url"):
        parts.append(f"URL: {event['url']}")
    ref = (snapshot.get("config") or {}).get("ref")
    if ref:
        parts.append(f"Branch checked out: {ref}")
    if event.get("labels"):
        parts.append("Labels: " + ", ".join(str(label) for label in event["labels"]))
    if event.get("event") == "comment_mention" and event.get("note_body"):
        parts += ["", f"The comment by {_who(event.get('author'))}:", _quote(event["note_body"])]
    return "\n".join(parts) + "\n"
