"""Event detection (SPEC §5.2) and config refs (SPEC §5.3 step 1) on GitLab-shaped payloads.

The payload builders follow GitLab's documented webhook payloads ("Webhook events": Merge
request, Work item/Issue, Comment and Pipeline events): `object_attributes`, top-level
`assignees`/`labels`, `changes.<field>.previous/current`, `merge_request` on notes and pipelines.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.events import (
    FORK_REASON,
    MATE_CAUSED,
    NO_BOT,
    SUPPORTED_HOOKS,
    BotRef,
    Derivation,
    Event,
    derive_events,
    mentioned_usernames,
)

MATE = BotRef(7, "mate-bot")
REVIEW = BotRef(8, "mate.review")
BOTS = [MATE, REVIEW]
ROOT = (1, "root")  # a human: the usual actor
ALICE = (2, "alice")
PROJECT_ID = 14
FORK_ID = 99

# --- payload builders -------------------------------------------------------------------------


def user(uid: int, username: str) -> dict[str, Any]:
    """A GitLab user object as webhooks embed it."""
    return {
        "id": uid,
        "name": username.title(),
        "username": username,
        "avatar_url": f"https://gitlab.example/avatar/{uid}",
        "email": "[REDACTED]",
    }


def bot_user(bot: BotRef) -> dict[str, Any]:
    return user(bot.user_id, bot.username)


def project(pid: int = PROJECT_ID, path: str = "acme/widget", default: str = "main") -> dict:
    return {
        "id": pid,
        "name": path.split("/")[-1],
        "web_url": f"https://gitlab.example/{path}",
        "namespace": path.split("/")[0],
        "path_with_namespace": path,
        "default_branch": default,
        "http_url": f"https://gitlab.example/{path}.git",
    }


def label(title: str) -> dict[str, Any]:
    return {
        "id": sum(map(ord, title)),
        "title": title,
        "color": "#ffffff",
        "type": "ProjectLabel",
    }


def opened(action: str, changes: dict | None) -> dict:
    """`changes` as given; for an `open`, what GitLab saved at creation (a real opening always
    carries some: an `open` with `changes: {}` is GitLab's Test button, see gitlab_test.py)."""
    if changes is not None or action != "open":
        return changes or {}
    return {
        "id": {"previous": None, "current": 1},
        "created_at": {"previous": None, "current": "x"},
    }


def confidential(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as GitLab sends it to a Confidential Issue/Note Hook."""
    payload["event_type"] = "confidential_" + payload["object_kind"]
    if payload["object_kind"] == "issue":
        payload["object_attributes"]["confidential"] = True
    return payload


def mr_payload(
    *,
    action: str = "update",
    assignees: list[dict] | None = None,
    labels: tuple[str, ...] = (),
    changes: dict | None = None,
    source_project_id: int = PROJECT_ID,
    source_branch: str = "feature/login",
    draft: bool = False,
    actor: tuple[int, str] = ROOT,
) -> dict[str, Any]:
    """A Merge Request Hook body (project 14, MR !3)."""
    people = assignees or []
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": user(*actor),
        "project": project(),
        "object_attributes": {
            "id": 99,
            "iid": 3,
            "target_branch": "main",
            "source_branch": source_branch,
            "source_project_id": source_project_id,
            "target_project_id": PROJECT_ID,
            "author_id": ALICE[0],
            "assignee_ids": [p["id"] for p in people if "id" in p],
            "assignee_id": people[0].get("id") if people else None,
            "reviewer_ids": [],
            "title": "Login form",
            "state": "opened",
            "draft": draft,
            "work_in_progress": draft,
            "url": "https://gitlab.example/acme/widget/-/merge_requests/3",
            "labels": [label(t) for t in labels],
            "action": action,
        },
        "labels": [label(t) for t in labels],
        "changes": opened(action, changes),
        "assignees": people,
        "reviewers": [],
    }


def issue_payload(
    *,
    action: str = "update",
    assignees: list[dict] | None = None,
    labels: tuple[str, ...] = (),
    changes: dict | None = None,
    object_kind: str = "issue",
    work_item_type: str = "Issue",
) -> dict[str, Any]:
    """An Issue Hook body (project 14, issue #23)."""
    people = assignees or []
    return {
        "object_kind": object_kind,
        "event_type": object_kind,
        "user": user(*ROOT),
        "project": project(),
        "object_attributes": {
            "id": 301,
            "iid": 23,
            "title": "Crash on save",
            "assignee_ids": [p["id"] for p in people if "id" in p],
            "assignee_id": people[0].get("id") if people else None,
            "author_id": ALICE[0],
            "project_id": PROJECT_ID,
            "confidential": False,
            "type": work_item_type,
            "url": "https://gitlab.example/acme/widget/-/issues/23",
            "state": "opened",
            "action": action,
            "labels": [label(t) for t in labels],
        },
        "assignees": people,
        "labels": [label(t) for t in labels],
        "changes": opened(action, changes),
    }


def issue_object(assignee_ids: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "id": 301,
        "iid": 23,
        "title": "Crash on save",
        "assignee_ids": list(assignee_ids),
        "assignee_id": assignee_ids[0] if assignee_ids else None,
        "author_id": ALICE[0],
        "project_id": PROJECT_ID,
        "state": "opened",
        "labels": [label("bug")],
    }


def mr_object(source_project_id: int = PROJECT_ID, draft: bool = True) -> dict[str, Any]:
    return {
        "id": 99,
        "iid": 3,
        "target_branch": "main",
        "source_branch": "feature/login",
        "source_project_id": source_project_id,
        "target_project_id": PROJECT_ID,
        "author_id": ALICE[0],
        "assignee_id": None,
        "title": "Login form",
        "state": "opened",
        "labels": [label("backend")],
        "draft": draft,
        "work_in_progress": draft,
    }


def note_payload(
    note: str,
    *,
    noteable_type: str = "Issue",
    author: tuple[int, str] = ALICE,
    system: bool = False,
    action: str = "create",
    target: dict | None = None,
) -> dict[str, Any]:
    """A Note Hook body for a comment on issue #23 (or MR !3 with noteable_type MergeRequest)."""
    key = {"Issue": "issue", "MergeRequest": "merge_request"}.get(noteable_type)
    path = "issues/23" if noteable_type == "Issue" else "merge_requests/3"
    payload: dict[str, Any] = {
        "object_kind": "note",
        "event_type": "note",
        "user": user(*author),
        "project_id": PROJECT_ID,
        "project": project(),
        "object_attributes": {
            "id": 1241,
            "note": note,
            "noteable_type": noteable_type,
            "author_id": author[0],
            "project_id": PROJECT_ID,
            "noteable_id": 301,
            "system": system,
            "action": action,
            "url": f"https://gitlab.example/acme/widget/-/{path}#note_1241",
        },
    }
    if key is not None:
        payload[key] = target or (issue_object() if key == "issue" else mr_object())
    elif noteable_type == "Commit":
        payload["commit"] = {"id": "cfe32cf6", "message": "Add submodule"}
    return payload


def pipeline_payload(
    status: str = "failed", *, ref: str = "feature/login", mr: dict | None = None
) -> dict[str, Any]:
    """A Pipeline Hook body for pipeline 31 (optionally an MR pipeline)."""
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": 31,
            "iid": 3,
            "name": "Pipeline for branch: " + ref,
            "ref": ref,
            "tag": False,
            "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
            "source": "merge_request_event" if mr else "push",
            "status": status,
            "url": "https://gitlab.example/acme/widget/-/pipelines/31",
        },
        "merge_request": mr,
        "user": user(*ROOT),
        "project": project(),
        "builds": [{"id": 378, "stage": "test", "name": "unit", "status": status}],
    }


def pipeline_mr(source_project_id: int = PROJECT_ID, **extra: Any) -> dict[str, Any]:
    return {
        "id": 99,
        "iid": 3,
        "title": "Login form",
        "source_branch": "feature/login",
        "source_project_id": source_project_id,
        "target_branch": "main",
        "target_project_id": PROJECT_ID,
        "state": "opened",
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "url": "https://gitlab.example/acme/widget/-/merge_requests/3",
        **extra,
    }


def without_assignee_ids(payload: dict[str, Any]) -> dict[str, Any]:
    """An older payload shape: no `assignee_ids`/`assignee_id`, users named only."""
    del payload["object_attributes"]["assignee_ids"]
    del payload["object_attributes"]["assignee_id"]
    return payload


def assignee_change(previous: list[dict], current: list[dict]) -> dict[str, Any]:
    return {"assignees": {"previous": previous, "current": current}}


def label_change(previous: list[str], current: list[str]) -> dict[str, Any]:
    return {
        "labels": {"previous": [label(t) for t in previous], "current": [label(t) for t in current]}
    }


def derive(
    hook: str, payload: Any, default: str | None = "mate-bot", bots: list[Any] = BOTS
) -> Derivation:
    derivation = derive_events(hook, payload, bots, default)
    assert (derivation.ignored is None) == bool(derivation.events)
    return derivation


def summary(derivation: Derivation) -> list[tuple[str, str, str | None]]:
    return [(e.event, e.bot, e.new_label) for e in derivation.events]


# --- Merge Request Hook -----------------------------------------------------------------------

MR_CASES = [
    pytest.param(
        mr_payload(action="open"),
        "mate-bot",
        [("mr_opened", "mate-bot", None)],
        id="open-unassigned-uses-default-bot",
    ),
    pytest.param(mr_payload(action="open"), None, [], id="open-unassigned-no-default-bot"),
    pytest.param(
        mr_payload(action="open", assignees=[bot_user(REVIEW)]),
        "mate-bot",
        [("mr_opened", "mate.review", None), ("mr_assigned", "mate.review", None)],
        id="open-assigned-bot-acts-and-is-assigned",
    ),
    pytest.param(
        mr_payload(action="open", assignees=[bot_user(REVIEW), user(*ALICE), bot_user(MATE)]),
        None,
        [
            ("mr_opened", "mate-bot", None),
            ("mr_assigned", "mate-bot", None),
            ("mr_assigned", "mate.review", None),
        ],
        id="open-two-bots-first-registered-acts",
    ),
    pytest.param(
        mr_payload(
            action="open",
            assignees=[bot_user(MATE)],
            changes=assignee_change([], [bot_user(MATE)]),
        ),
        "mate-bot",
        [("mr_opened", "mate-bot", None), ("mr_assigned", "mate-bot", None)],
        id="open-with-assignee-change-not-doubled",
    ),
    pytest.param(
        mr_payload(
            assignees=[user(*ALICE), bot_user(MATE)],
            changes=assignee_change([user(*ALICE)], [user(*ALICE), bot_user(MATE)]),
        ),
        "mate-bot",
        [("mr_assigned", "mate-bot", None)],
        id="update-bot-newly-assigned",
    ),
    pytest.param(
        mr_payload(
            assignees=[bot_user(MATE), bot_user(REVIEW)],
            changes=assignee_change([], [bot_user(REVIEW), bot_user(MATE)]),
        ),
        "mate-bot",
        [("mr_assigned", "mate-bot", None), ("mr_assigned", "mate.review", None)],
        id="update-two-bots-newly-assigned-one-event-each",
    ),
    pytest.param(
        mr_payload(
            assignees=[bot_user(MATE), bot_user(REVIEW)],
            changes=assignee_change([bot_user(MATE)], [bot_user(MATE), bot_user(REVIEW)]),
        ),
        "mate-bot",
        [("mr_assigned", "mate.review", None)],
        id="update-only-the-new-bot",
    ),
    pytest.param(
        mr_payload(
            assignees=[user(*ALICE)],
            changes=assignee_change([bot_user(MATE)], [user(*ALICE)]),
        ),
        "mate-bot",
        [],
        id="update-bot-unassigned",
    ),
    pytest.param(
        mr_payload(
            changes={"reviewers": {"previous": [], "current": [bot_user(MATE)]}},
        ),
        "mate-bot",
        [],
        id="reviewer-does-not-count",
    ),
    pytest.param(
        mr_payload(
            assignees=[bot_user(MATE)],
            labels=("bug", "agent"),
            changes=label_change(["bug"], ["bug", "agent"]),
        ),
        "mate-bot",
        [("label_applied", "mate-bot", "agent")],
        id="label-added-bot-assigned",
    ),
    pytest.param(
        mr_payload(
            assignees=[bot_user(REVIEW), bot_user(MATE)],
            labels=("agent", "urgent"),
            changes=label_change([], ["agent", "urgent"]),
        ),
        "mate-bot",
        [("label_applied", "mate-bot", "agent"), ("label_applied", "mate-bot", "urgent")],
        id="two-labels-two-events-first-registered-bot",
    ),
    pytest.param(
        mr_payload(
            assignees=[user(*ALICE)],
            labels=("agent",),
            changes=label_change([], ["agent"]),
        ),
        "mate-bot",
        [],
        id="label-added-no-bot-assigned",
    ),
    pytest.param(
        mr_payload(
            assignees=[bot_user(MATE)],
            labels=("bug",),
            changes=label_change(["bug", "agent"], ["bug"]),
        ),
        "mate-bot",
        [],
        id="label-removed",
    ),
    pytest.param(
        mr_payload(
            assignees=[bot_user(MATE)],
            labels=("agent",),
            changes={**assignee_change([], [bot_user(MATE)]), **label_change([], ["agent"])},
        ),
        "mate-bot",
        [("mr_assigned", "mate-bot", None), ("label_applied", "mate-bot", "agent")],
        id="assign-and-label-in-one-delivery",
    ),
    pytest.param(
        mr_payload(
            action="open",
            assignees=[bot_user(MATE)],
            labels=("agent",),
            changes={**assignee_change([], [bot_user(MATE)]), **label_change([], ["agent"])},
        ),
        "mate-bot",
        [
            ("mr_opened", "mate-bot", None),
            ("mr_assigned", "mate-bot", None),
            ("label_applied", "mate-bot", "agent"),
        ],
        id="open-assigned-labelled-spec-order",
    ),
    pytest.param(
        mr_payload(action="merge", assignees=[bot_user(MATE)]),
        "mate-bot",
        [],
        id="merge-with-bot-assigned-nothing-new",
    ),
    pytest.param(
        without_assignee_ids(
            mr_payload(
                assignees=[{"name": "Mate", "username": "mate-bot", "avatar_url": "x"}],
                changes=assignee_change([], [{"name": "Mate", "username": "mate-bot"}]),
            )
        ),
        "mate-bot",
        [("mr_assigned", "mate-bot", None)],
        id="old-payload-users-without-ids-match-by-username",
    ),
    pytest.param(
        mr_payload(
            assignees=[user(555, "mate-bot")],
            changes=assignee_change([], [user(555, "mate-bot")]),
        ),
        "mate-bot",
        [],
        id="same-username-other-id-is-not-the-bot",
    ),
]


@pytest.mark.parametrize(("payload", "default", "expected"), MR_CASES)
def test_merge_request_hook(payload: dict, default: str | None, expected: list) -> None:
    derivation = derive("Merge Request Hook", payload, default)
    assert summary(derivation) == expected
    for event in derivation.events:
        assert event.object_kind == "merge_request"
        assert event.object_iid == 3
        assert event.project_id == PROJECT_ID
        assert (event.config_ref, event.config_ref_reason) == ("feature/login", "MR source branch")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (mr_payload(action="open"), NO_BOT),
        (mr_payload(assignees=[user(*ALICE)]), NO_BOT),
        (mr_payload(assignees=[bot_user(MATE)]), "no new bot assignment or label (action update)"),
    ],
)
def test_merge_request_hook_reasons_without_default_bot(payload: dict, reason: str) -> None:
    assert derive("Merge Request Hook", payload, None).ignored == reason


def test_merge_request_event_carries_what_routing_needs() -> None:
    payload = mr_payload(
        action="open",
        assignees=[user(*ALICE), bot_user(MATE)],
        labels=("bug",),
        draft=True,
    )
    payload["changes"] = label_change([], ["bug"])
    opened = derive("Merge Request Hook", payload).events[0]
    assert opened == Event(
        event="mr_opened",
        bot="mate-bot",
        project_id=PROJECT_ID,
        project_path="acme/widget",
        project_default_branch="main",
        object_kind="merge_request",
        object_iid=3,
        config_ref="feature/login",
        config_ref_reason="MR source branch",
        assignees=("alice", "mate-bot"),
        assignee_ids=(2, 7),
        author="alice",  # author_id 2 is named by the assignee list
        labels=("bug",),
        target_branch="main",
        source_branch="feature/login",
        draft=True,
        source_project_id=PROJECT_ID,
        target_project_id=PROJECT_ID,
        title="Login form",
        url="https://gitlab.example/acme/widget/-/merge_requests/3",
        action="open",
        actor_id=1,
        actor="root",
    )


def test_labels_after_the_change_come_from_changes_current() -> None:
    payload = mr_payload(assignees=[bot_user(MATE)], labels=("stale",))
    payload["changes"] = label_change(["x"], ["x", "agent"])
    (event,) = derive("Merge Request Hook", payload).events
    assert event.labels == ("x", "agent")
    assert event.new_label == "agent"


def test_fork_merge_request_reads_target_default_branch() -> None:
    payload = mr_payload(action="open", source_project_id=FORK_ID, source_branch="evil")
    (event,) = derive("Merge Request Hook", payload).events
    assert event.config_ref == "main"
    assert event.config_ref_reason == FORK_REASON
    assert (event.source_project_id, event.target_project_id) == (FORK_ID, PROJECT_ID)
    assert event.source_branch == "evil"


def test_unknown_source_project_is_not_trusted() -> None:
    payload = mr_payload(action="open", source_branch="maybe-fork")
    del payload["object_attributes"]["source_project_id"]
    (event,) = derive("Merge Request Hook", payload).events
    assert event.config_ref == "main"
    assert "unknown" in event.config_ref_reason


def test_default_bot_must_be_registered() -> None:
    derivation = derive("Merge Request Hook", mr_payload(action="open"), default="ghost-bot")
    assert derivation.events == []
    assert derivation.ignored == NO_BOT


# --- Issue Hook ------------------------------------------------------------------------------

ISSUE_CASES = [
    pytest.param(
        "Issue Hook",
        issue_payload(assignees=[bot_user(MATE)], changes=assignee_change([], [bot_user(MATE)])),
        [("issue_assigned", "mate-bot", None)],
        id="assigned",
    ),
    pytest.param(
        "Confidential Issue Hook",
        confidential(
            issue_payload(
                assignees=[bot_user(REVIEW)], changes=assignee_change([], [bot_user(REVIEW)])
            )
        ),
        [("issue_assigned", "mate.review", None)],
        id="confidential-assigned",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(action="open", assignees=[bot_user(MATE)]),
        [("issue_assigned", "mate-bot", None)],
        id="opened-already-assigned",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(action="open"),
        [],
        id="opened-unassigned-no-event-even-with-default-bot",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(
            object_kind="work_item",
            assignees=[bot_user(MATE)],
            changes=assignee_change([], [bot_user(MATE)]),
        ),
        [("issue_assigned", "mate-bot", None)],
        id="work-item-of-type-issue",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(
            object_kind="work_item",
            work_item_type="Task",
            assignees=[bot_user(MATE)],
            changes=assignee_change([], [bot_user(MATE)]),
        ),
        [],
        id="work-item-task-ignored",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(
            assignees=[user(*ALICE), bot_user(REVIEW)],
            labels=("agent",),
            changes=label_change([], ["agent"]),
        ),
        [("label_applied", "mate.review", "agent")],
        id="label-applied",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(
            assignees=[{"name": "Mate", "username": "mate-bot"}],
            changes=assignee_change([], [{"name": "Mate", "username": "mate-bot"}]),
        ),
        [("issue_assigned", "mate-bot", None)],
        id="users-without-ids",
    ),
    pytest.param(
        "Issue Hook",
        issue_payload(assignees=[user(*ALICE)], changes=assignee_change([], [user(*ALICE)])),
        [],
        id="human-assigned",
    ),
]


@pytest.mark.parametrize(("hook", "payload", "expected"), ISSUE_CASES)
def test_issue_hook(hook: str, payload: dict, expected: list) -> None:
    derivation = derive(hook, payload)
    assert summary(derivation) == expected
    for event in derivation.events:
        assert event.object_kind == "issue"
        assert event.object_iid == 23
        assert event.config_ref == "main"
        assert event.config_ref_reason == "project default branch"
        assert event.source_branch is None and event.draft is None


def test_work_item_task_reason() -> None:
    payload = issue_payload(object_kind="work_item", work_item_type="Task")
    assert derive("Issue Hook", payload).ignored == "work item of type Task is not an issue"


def test_issue_event_fields() -> None:
    payload = issue_payload(
        assignees=[bot_user(MATE)], labels=("bug",), changes=assignee_change([], [bot_user(MATE)])
    )
    payload["object_attributes"]["author_id"] = ROOT[0]  # the actor: named by `user`
    (event,) = derive("Issue Hook", payload).events
    assert event.author == "root"
    assert event.assignees == ("mate-bot",)
    assert event.labels == ("bug",)
    assert event.title == "Crash on save"
    assert event.url == "https://gitlab.example/acme/widget/-/issues/23"
    assert event.dedupe_key() == "issue_assigned:mate-bot:project/14:issue/23"


def test_issue_in_empty_project_has_no_config_ref() -> None:
    payload = issue_payload(
        assignees=[bot_user(MATE)], changes=assignee_change([], [bot_user(MATE)])
    )
    payload["project"]["default_branch"] = None
    (event,) = derive("Issue Hook", payload).events
    assert event.config_ref is None
    assert "default branch unknown" in event.config_ref_reason


# --- Note Hook -------------------------------------------------------------------------------

NOTE_CASES = [
    pytest.param("Note Hook", note_payload("@mate-bot please fix"), ["mate-bot"], id="issue-note"),
    pytest.param(
        "Confidential Note Hook",
        confidential(note_payload("@mate.review look")),
        ["mate.review"],
        id="confidential",
    ),
    pytest.param(
        "Note Hook",
        note_payload("@mate.review and @mate-bot"),
        ["mate-bot", "mate.review"],
        id="two-bots-registration-order",
    ),
    pytest.param(
        "Note Hook",
        note_payload("@mate-bot review", noteable_type="MergeRequest"),
        ["mate-bot"],
        id="mr-note",
    ),
    pytest.param("Note Hook", note_payload("thanks all"), [], id="no-mention"),
    pytest.param("Note Hook", note_payload("@alice @mate-bot2"), [], id="other-users"),
    pytest.param("Note Hook", note_payload("`@mate-bot`"), [], id="in-inline-code"),
    pytest.param("Note Hook", note_payload("> @mate-bot said"), [], id="in-quote"),
    pytest.param("Note Hook", note_payload("```\n@mate-bot\n```"), [], id="in-fence"),
    pytest.param("Note Hook", note_payload("@Mate-Bot"), [], id="wrong-case"),
]


@pytest.mark.parametrize(("hook", "payload", "mentioned"), NOTE_CASES)
def test_note_hook_mentions(hook: str, payload: dict, mentioned: list[str]) -> None:
    derivation = derive(hook, payload)
    assert [e.event for e in derivation.events] == ["comment_mention"] * len(mentioned)
    assert [e.bot for e in derivation.events] == mentioned
    assert [e.mentioned for e in derivation.events] == mentioned
    if not mentioned:
        assert derivation.ignored == NO_BOT


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (note_payload("@mate-bot", system=True), "system note"),
        (note_payload("@mate-bot", noteable_type="Commit"), "note on a commit/snippet"),
        (note_payload("@mate-bot", noteable_type="Snippet"), "note on a commit/snippet"),
        (
            note_payload("@mate.review go", author=(7, "mate-bot")),
            MATE_CAUSED,
        ),
        (
            note_payload("@mate-bot go", author=(8, "mate.review")),
            MATE_CAUSED,
        ),
        (note_payload("@mate-bot", author=(8, "renamed")), MATE_CAUSED),
        (
            note_payload("@mate-bot", author=(900, "mate.review")),
            MATE_CAUSED,
        ),
        (
            note_payload("@mate-bot", action="update"),
            "note edited: only new notes are read for mentions",
        ),
        (
            note_payload("@mate-bot", target={**issue_object(), "type": "Task"}),
            "note on a work item of type Task, not an issue",
        ),
    ],
    ids=[
        "system",
        "commit",
        "snippet",
        "bot-author",
        "bot-self-mention",
        "bot-id-renamed",
        "bot-username-other-id",
        "edited",
        "task",
    ],
)
def test_note_hook_ignored(payload: dict, reason: str) -> None:
    derivation = derive("Note Hook", payload)
    assert derivation.events == []
    assert derivation.ignored == reason


def test_issue_note_event_fields() -> None:
    payload = note_payload("Hi @mate-bot, see below", target=issue_object((7, 2)))
    (event,) = derive("Note Hook", payload).events
    assert event.object_kind == "issue"
    assert event.object_iid == 23
    assert event.author == "alice"  # the comment's author
    assert event.note_body == "Hi @mate-bot, see below"
    assert event.note_id == 1241
    assert event.assignee_ids == (7, 2)
    assert event.assignees == ("mate-bot", "alice")  # bot by roster, alice as the actor
    assert event.labels == ("bug",)
    assert event.url == "https://gitlab.example/acme/widget/-/issues/23"
    assert (event.config_ref, event.config_ref_reason) == ("main", "project default branch")
    assert event.dedupe_key() == "comment_mention:mate-bot:project/14:issue/23"


def test_mr_note_reads_source_branch() -> None:
    (event,) = derive("Note Hook", note_payload("@mate-bot", noteable_type="MergeRequest")).events
    assert event.object_kind == "merge_request"
    assert event.object_iid == 3
    assert (event.config_ref, event.config_ref_reason) == ("feature/login", "MR source branch")
    assert (event.source_branch, event.target_branch, event.draft) == (
        "feature/login",
        "main",
        True,
    )
    assert event.labels == ("backend",)
    assert event.url == "https://gitlab.example/acme/widget/-/merge_requests/3"


def test_fork_mr_note_reads_target_default_branch() -> None:
    payload = note_payload(
        "@mate-bot", noteable_type="MergeRequest", target=mr_object(source_project_id=FORK_ID)
    )
    (event,) = derive("Note Hook", payload).events
    assert (event.config_ref, event.config_ref_reason) == ("main", FORK_REASON)


# --- Pipeline Hook ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "default", "bot", "config_ref", "reason"),
    [
        pytest.param(
            pipeline_payload(ref="feature/x"), "mate-bot", "mate-bot", "feature/x", "pipeline ref",
            id="branch-pipeline-default-bot",
        ),
        pytest.param(
            pipeline_payload(ref="refs/merge-requests/3/head", mr=pipeline_mr()),
            "mate-bot", "mate-bot", "feature/login", "MR source branch",
            id="mr-pipeline-source-branch",
        ),
        # A real Pipeline Hook names no assignees of the MR: the default bot acts until routing
        # has read the MR (tests/jobs/test_routing_confirm.py), or the first bot without one.
        pytest.param(
            pipeline_payload(mr=pipeline_mr()),
            "mate.review", "mate.review", "feature/login", "MR source branch",
            id="mr-pipeline-default-bot",
        ),
        pytest.param(
            pipeline_payload(mr=pipeline_mr()),
            None, "mate-bot", "feature/login", "MR source branch",
            id="mr-pipeline-without-default-bot-first-bot",
        ),
        pytest.param(
            pipeline_payload(mr=pipeline_mr(source_project_id=FORK_ID)),
            "mate-bot", "mate-bot", "main", FORK_REASON,
            id="fork-mr-pipeline",
        ),
        pytest.param(
            pipeline_payload(ref="refs/merge-requests/3/head"),
            "mate-bot", "mate-bot", "main",
            "merge request ref without MR details: using default branch",
            id="mr-ref-without-mr-details",
        ),
    ],
)  # fmt: skip
def test_pipeline_failed(
    payload: dict, default: str | None, bot: str, config_ref: str, reason: str
) -> None:
    (event,) = derive("Pipeline Hook", payload, default).events
    assert (event.event, event.bot) == ("pipeline_failed", bot)
    assert event.object_kind == "pipeline"
    assert event.pipeline_id == 31
    assert (event.config_ref, event.config_ref_reason) == (config_ref, reason)
    assert event.ref == payload["object_attributes"]["ref"]
    assert event.object_iid == (3 if payload["merge_request"] else None)
    assert event.dedupe_key() == f"pipeline_failed:{bot}:project/14:pipeline/31"


@pytest.mark.parametrize(
    ("payload", "default", "reason"),
    [
        (pipeline_payload("success"), "mate-bot", "pipeline status is success, not failed"),
        (pipeline_payload("running"), "mate-bot", "pipeline status is running, not failed"),
        (pipeline_payload("failed"), None, NO_BOT),
    ],
)
def test_pipeline_ignored(payload: dict, default: str | None, reason: str) -> None:
    assert derive("Pipeline Hook", payload, default).ignored == reason


# --- deliveries that yield nothing ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "payload", "reason"),
    [
        ("Push Hook", {"object_kind": "push"}, "unsupported hook type Push Hook"),
        ("Tag Push Hook", {}, "unsupported hook type Tag Push Hook"),
        ("", {}, "unsupported hook type "),
        ("issue hook", issue_payload(), "unsupported hook type issue hook"),
        ("Bad\nHook", {}, "unsupported hook type Bad?Hook"),
        ("Note Hook", [1, 2], "malformed payload: the body is not a JSON object"),
        ("Note Hook", "text", "malformed payload: the body is not a JSON object"),
        (
            "Merge Request Hook",
            {**mr_payload(), "object_attributes": []},
            "malformed payload: object_attributes is missing or not an object",
        ),
        (
            "Merge Request Hook",
            {**mr_payload(action="open"), "project": {"id": "14"}},
            "malformed payload: project id is missing or not an integer",
        ),
        (
            "Issue Hook",
            {**issue_payload(action="open"), "object_attributes": {"iid": True, "action": "open"}},
            "malformed payload: the issue has no integer iid",
        ),
        (
            "Note Hook",
            {**note_payload("@mate-bot"), "issue": None},
            "malformed payload: issue is missing or not an object",
        ),
        (
            "Note Hook",
            {**note_payload(""), "object_attributes": {"noteable_type": "Issue", "note": 5}},
            "malformed payload: object_attributes.note is missing or not a string",
        ),
        (
            "Pipeline Hook",
            {"object_attributes": {"status": "failed", "id": "31"}, "project": project()},
            "malformed payload: object_attributes.id is missing or not an integer",
        ),
        (
            "Pipeline Hook",
            {"object_attributes": {"status": ["failed"]}},
            "malformed payload: object_attributes.status is missing or not a string",
        ),
    ],
)
def test_ignored_deliveries(hook: str, payload: Any, reason: str) -> None:
    derivation = derive(hook, payload)
    assert derivation.events == []
    assert derivation.ignored == reason


def test_long_hook_type_is_shortened() -> None:
    reason = derive("X" * 500, {}).ignored
    assert reason == "unsupported hook type " + "X" * 80 + "..."


@pytest.mark.parametrize("hook", sorted(SUPPORTED_HOOKS))
def test_no_registered_bots_no_events(hook: str) -> None:
    payload = mr_payload(action="open") if hook == "Merge Request Hook" else pipeline_payload()
    derivation = derive(hook, payload, default="mate-bot", bots=[])
    assert derivation.ignored == NO_BOT


def test_malformed_bot_entries_are_skipped() -> None:
    bad_id: Any = "7"
    bots: list[Any] = [BotRef(bad_id, "mate-bot"), BotRef(8, ""), None, REVIEW, BotRef(8, "dup")]
    (event,) = derive("Note Hook", note_payload("@mate-bot @mate.review @dup"), bots=bots).events
    assert event.bot == "mate.review"


# --- Event value behaviour --------------------------------------------------------------------


def test_dedupe_keys_distinguish_events_of_one_delivery() -> None:
    payload = mr_payload(
        action="open",
        assignees=[bot_user(MATE), bot_user(REVIEW)],
        labels=("a", "b"),
    )
    payload["changes"] = label_change([], ["a", "b"])
    events = derive("Merge Request Hook", payload).events
    keys = [e.dedupe_key() for e in events]
    assert keys == [
        "mr_opened:mate-bot:project/14:merge_request/3",
        "mr_assigned:mate-bot:project/14:merge_request/3",
        "mr_assigned:mate.review:project/14:merge_request/3",
        "label_applied:mate-bot:project/14:merge_request/3:label/a",
        "label_applied:mate-bot:project/14:merge_request/3:label/b",
    ]
    again = derive("Merge Request Hook", copy.deepcopy(payload)).events
    assert [e.dedupe_key() for e in again] == keys


def test_event_round_trips_through_json() -> None:
    (event,) = derive("Note Hook", note_payload("@mate-bot", noteable_type="MergeRequest")).events
    data = json.loads(json.dumps(event.to_dict()))
    assert Event.from_dict(data) == event
    assert data["assignees"] == list(event.assignees)


def test_event_is_frozen() -> None:
    (event,) = derive("Note Hook", note_payload("@mate-bot")).events
    with pytest.raises(AttributeError):
        event.bot = "other"  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------

KEYS = [
    "object_kind", "object_attributes", "project", "id", "iid", "project_id", "user", "username",
    "assignees", "assignee_ids", "assignee_id", "labels", "title", "changes", "previous",
    "current", "action", "note", "noteable_type", "system", "author_id", "issue",
    "merge_request", "source_branch", "target_branch", "source_project_id",
    "target_project_id", "default_branch", "path_with_namespace", "status", "ref", "type",
    "draft", "url",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(["open", "update", "failed", "Issue", "MergeRequest", "work_item", "main"]),
    st.sampled_from(["@mate-bot", "mate-bot", "mate.review", "`@mate-bot`", "Commit"]),
    st.text(max_size=20),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)
HOOKS = st.sampled_from([*sorted(SUPPORTED_HOOKS), "Push Hook", "Job Hook"])
BOT_LISTS = st.lists(
    st.builds(BotRef, st.integers(0, 10), st.sampled_from(["mate-bot", "mate.review", "x", ""])),
    max_size=4,
)
DEFAULTS = st.sampled_from([None, "mate-bot", "mate.review", "ghost"])


def check_invariants(derivation: Any, bots: list[BotRef]) -> None:
    """What holds for every derivation, whatever the payload."""
    assert isinstance(derivation, Derivation)
    assert (derivation.ignored is None) == bool(derivation.events)
    assert derivation.ignored is None or isinstance(derivation.ignored, str)
    registered = {b.username for b in bots if isinstance(b.user_id, int) and b.username}
    keys = [e.dedupe_key() for e in derivation.events]
    assert len(keys) == len(set(keys))
    for event in derivation.events:
        assert isinstance(event, Event)
        assert event.bot in registered
        assert isinstance(event.project_id, int)
        json.dumps(event.to_dict())


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(hook=HOOKS, payload=JSON, bots=BOT_LISTS, default=DEFAULTS)
def test_arbitrary_json_never_raises(hook: str, payload: Any, bots: list, default: Any) -> None:
    check_invariants(derive_events(hook, payload, bots, default), bots)


REALISTIC = [
    ("Merge Request Hook", mr_payload(action="open", assignees=[bot_user(MATE)], labels=("a",),
                                      changes={**assignee_change([], [bot_user(MATE)]),
                                               **label_change([], ["a"])})),
    ("Issue Hook", issue_payload(assignees=[bot_user(REVIEW)], labels=("a",),
                                 changes={**assignee_change([], [bot_user(REVIEW)]),
                                          **label_change([], ["a"])})),
    ("Note Hook", note_payload("@mate-bot @mate.review", noteable_type="MergeRequest")),
    ("Note Hook", note_payload("@mate-bot")),
    ("Pipeline Hook", pipeline_payload(mr=pipeline_mr(assignees=[bot_user(MATE)]))),
]  # fmt: skip


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path inside a JSON value."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=400)
@given(data=st.data(), case=st.sampled_from(REALISTIC), replacement=JSON, delete=st.booleans())
def test_mutated_realistic_payloads_never_raise(
    data: st.DataObject, case: tuple[str, dict], replacement: Any, delete: bool
) -> None:
    hook, original = case
    payload = copy.deepcopy(original)
    path = data.draw(st.sampled_from(paths(payload)[1:]))
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    check_invariants(derive_events(hook, payload, BOTS, "mate-bot"), BOTS)


def test_realistic_payloads_yield_events() -> None:
    """The unmutated cases above do derive events (so the mutations test something)."""
    for hook, payload in REALISTIC:
        assert derive(hook, payload).events, hook


NOTE_BODIES = st.lists(
    st.sampled_from(
        ["@", "`", "```", "~~~", ">", " ", "\n", ".", "-", "a", "mate-bot", "mate.review"]
    )
).map("".join)


@given(body=NOTE_BODIES)
def test_note_events_follow_the_mention_matcher(body: str) -> None:
    derivation = derive("Note Hook", note_payload(body))
    expected = mentioned_usernames(body, [b.username for b in BOTS])
    assert [e.mentioned for e in derivation.events] == expected
    assert all(e.note_body == body for e in derivation.events)
