"""Mate events (SPEC §5.2) and the facts about one event that triggers are matched against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EVENTS: tuple[str, ...] = (
    "issue_assigned",
    "mr_assigned",
    "mr_opened",
    "comment_mention",
    "label_applied",
    "pipeline_failed",
)
ObjectKind = Literal["issue", "merge_request", "pipeline"]
OBJECT_KINDS: tuple[str, ...] = ("issue", "merge_request", "pipeline")


@dataclass(frozen=True)
class EventFacts:
    """Everything matching needs to know about one derived event; None where not applicable.

    - ``event``: one of :data:`EVENTS`; ``bot``: the acting bot's username.
    - ``object_kind``: what the event is about (for comment_mention and label_applied, the
      issue or merge request the note or label is on).
    - ``assignees``, ``author``: of the issue/MR (``author`` is the comment's author for
      comment_mention).
    - ``labels``: the object's labels after the change.
    - ``target_branch``, ``source_branch``, ``draft``: of the MR, when the object is one.
    - ``ref``: the pipeline's ref; ``project``: ``path_with_namespace``.
    - ``mentioned``: the bot mentioned (comment_mention); ``new_label``: the label just applied
      (label_applied).
    """

    event: str
    bot: str | None = None
    object_kind: str | None = None
    assignees: tuple[str, ...] = ()
    author: str | None = None
    labels: tuple[str, ...] = ()
    target_branch: str | None = None
    source_branch: str | None = None
    draft: bool | None = None
    ref: str | None = None
    project: str | None = None
    mentioned: str | None = None
    new_label: str | None = None

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown event {self.event!r}; expected one of {', '.join(EVENTS)}")
