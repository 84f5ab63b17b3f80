"""Data that event detection returns: registered bots in, events and a reason out (SPEC §5.2)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from configschema.events import EVENTS

EventName = Literal[
    "issue_assigned",
    "mr_assigned",
    "mr_opened",
    "comment_mention",
    "label_applied",
    "pipeline_failed",
]
ObjectKind = Literal["issue", "merge_request", "pipeline"]

# One list of event names for the configuration language and detection alike.
EVENT_NAMES: tuple[EventName, ...] = EVENTS  # type: ignore[assignment]
assert set(EVENT_NAMES) == set(EventName.__args__)  # noqa: S101 - the Literal must match

ISSUE_HOOKS = frozenset({"Issue Hook", "Confidential Issue Hook"})
NOTE_HOOKS = frozenset({"Note Hook", "Confidential Note Hook"})
MERGE_REQUEST_HOOK = "Merge Request Hook"
PIPELINE_HOOK = "Pipeline Hook"
SUPPORTED_HOOKS = ISSUE_HOOKS | NOTE_HOOKS | {MERGE_REQUEST_HOOK, PIPELINE_HOOK}

_TUPLE_FIELDS = ("assignees", "assignee_ids", "labels")


@dataclass(frozen=True, slots=True)
class BotRef:
    """A bot registered with the tenant: its GitLab user id and username."""

    user_id: int
    username: str


@dataclass(frozen=True)
class Event:
    """One Mate event derived from a delivery: everything routing (SPEC §5.3) needs.

    `bot` is always the username of a registered bot (the acting bot). For pipelines,
    `pipeline_id` is set and `object_iid` is the pipeline's MR iid when the payload names one.
    `assignees`/`assignee_ids` are the issue's/MR's assignees after the change, as far as the
    payload tells them (usernames that cannot be resolved from the payload are left out of
    `assignees`). `author` is the issue/MR author, or the comment author for comment_mention.
    `config_ref` is the branch (or ref) of the event's project where `.mate.yml` is read, or
    None when it is unknown (an empty project has no default branch); `config_ref_reason`
    says why that ref was chosen. `action` and `updated_at` say which change of the object
    this is (SPEC §5.1 event identity): the payload's `object_attributes.action` and
    `updated_at` (the note's own for comment_mention); for a pipeline its `status` and
    `finished_at` (pipeline payloads carry no `updated_at`); None when the payload lacks them.
    `actor_id`/`actor` are the user who caused the event (SPEC
    §5.2 "The actor"): the payload's `user` here; routing replaces them, and the other facts,
    with GitLab's answer where GitLab tells (SPEC §5.3 step 3a).
    """

    event: EventName
    bot: str
    project_id: int
    project_path: str | None
    project_default_branch: str | None
    object_kind: ObjectKind
    object_iid: int | None
    config_ref: str | None
    config_ref_reason: str
    pipeline_id: int | None = None
    assignees: tuple[str, ...] = ()
    assignee_ids: tuple[int, ...] = ()
    author: str | None = None
    labels: tuple[str, ...] = ()
    new_label: str | None = None
    target_branch: str | None = None
    source_branch: str | None = None
    draft: bool | None = None
    ref: str | None = None
    source_project_id: int | None = None
    target_project_id: int | None = None
    mentioned: str | None = None
    note_id: int | None = None
    note_body: str | None = None
    title: str | None = None
    url: str | None = None
    action: str | None = None
    updated_at: str | None = None
    actor_id: int | None = None
    actor: str | None = None

    def dedupe_key(self) -> str:
        """A stable key for this event within its delivery: event, bot, object and label.

        Two events of one delivery share a key exactly when they would start the same job,
        so routing can enforce "one job per event" with a unique constraint on it.
        """
        if self.object_kind == "pipeline":
            target = f"pipeline/{self.pipeline_id}"
        else:
            target = f"{self.object_kind}/{self.object_iid}"
        key = f"{self.event}:{self.bot}:project/{self.project_id}:{target}"
        if self.new_label is not None:
            key += f":label/{self.new_label}"
        return key

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (tuples become lists) for the job's frozen snapshot."""
        data = asdict(self)
        for name in _TUPLE_FIELDS:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Rebuild an event from `to_dict()` output (trusted, our own data; unknown keys raise)."""
        values = dict(data)
        for name in _TUPLE_FIELDS:
            values[name] = tuple(values.get(name, ()))
        return cls(**values)


@dataclass(frozen=True)
class Derivation:
    """The outcome of reading one delivery: events in SPEC order, or why there are none.

    `ignored` is None exactly when `events` is not empty.
    """

    events: list[Event] = field(default_factory=list)
    ignored: str | None = None
