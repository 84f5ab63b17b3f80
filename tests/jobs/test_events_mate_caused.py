"""Events Mate caused start no job (SPEC §5.2 "Events Mate caused", §5.3 step 1; T32).

The actor of a delivery is its `user` (a Note Hook also names the note's author). When that is
a registered bot, the user of a token Mate minted for the tenant, or any GitLab project/group
access-token user, the delivery is ignored with its reason; a failed pipeline is exempt. An MR
written by such a user reads `.mate.yml` at the default branch, as a fork MR does.
"""

from __future__ import annotations

import pytest

from jobs.events import (
    GITLAB_BOT_CAUSED,
    MATE_CAUSED,
    MATE_MR_REASON,
    PIPELINE_MATE_REASON,
    derive_events,
    involved_user_ids,
    is_gitlab_bot_username,
)
from tests.jobs.test_events import (
    BOTS,
    MATE,
    assignee_change,
    bot_user,
    issue_payload,
    label_change,
    mr_object,
    mr_payload,
    note_payload,
    pipeline_mr,
    pipeline_payload,
    user,
)

KEY_USER = (501, "project_14_bot_0f3a9c1e5b7d2e4f6a8b0c1d2e3f4a5b")  # a per-job key's user
MINTED = frozenset({KEY_USER[0]})
OTHER_BOT = (777, "group_3_bot_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d")  # not Mate's


def derive(hook: str, payload: dict, minted=MINTED):
    derivation = derive_events(hook, payload, BOTS, "mate-bot", minted)
    assert (derivation.ignored is None) == bool(derivation.events)
    return derivation


def with_actor(payload: dict, actor: tuple[int, str]) -> dict:
    payload["user"] = user(*actor)
    return payload


# --- who is a GitLab bot user -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "bot"),
    [
        ("project_14_bot_0f3a9c1e5b7d2e4f6a8b0c1d2e3f4a5b", True),
        ("group_3_bot_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", True),
        ("project_14_bot", True),  # GitLab before 16: `project_<id>_bot`, then `..._bot1`
        ("project_14_bot2", True),
        ("project_bot", False),
        ("project_x_bot_1", False),
        ("my_project_14_bot_1", False),
        ("project_14_bot_", False),
        ("project_14_bot_1.evil", False),
        ("alice", False),
        ("", False),
        (None, False),
    ],
)
def test_gitlab_bot_usernames(username, bot: bool) -> None:
    assert is_gitlab_bot_username(username) is bot


# --- each hook, each kind of Mate user ----------------------------------------------------------

ACTORS = [
    pytest.param((MATE.user_id, MATE.username), MATE_CAUSED, id="registered-bot"),
    pytest.param(KEY_USER, MATE_CAUSED, id="minted-key-user"),
    pytest.param((KEY_USER[0], "renamed"), MATE_CAUSED, id="minted-id-any-name"),
    pytest.param(OTHER_BOT, GITLAB_BOT_CAUSED, id="gitlab-bot-user"),
]


@pytest.mark.parametrize(("actor", "reason"), ACTORS)
def test_mentions_by_mate_start_nothing(actor, reason) -> None:
    for noteable in ("Issue", "MergeRequest"):
        derivation = derive(
            "Note Hook", note_payload("@mate-bot please", noteable_type=noteable, author=actor)
        )
        assert derivation.events == [] and derivation.ignored == reason


def test_note_author_id_alone_is_enough() -> None:
    """`user` and `author_id` are the same user on GitLab; either being Mate's suffices."""
    payload = note_payload("@mate-bot please")
    payload["object_attributes"]["author_id"] = KEY_USER[0]
    assert derive("Note Hook", payload).ignored == MATE_CAUSED


@pytest.mark.parametrize(("actor", "reason"), ACTORS)
def test_mr_opened_and_assigned_by_mate_start_nothing(actor, reason) -> None:
    payload = with_actor(mr_payload(action="open", assignees=[bot_user(MATE)]), actor)
    assert derive("Merge Request Hook", payload).ignored == reason
    change = assignee_change([], [bot_user(MATE)])
    payload = with_actor(mr_payload(assignees=[bot_user(MATE)], changes=change), actor)
    assert derive("Merge Request Hook", payload).ignored == reason


@pytest.mark.parametrize(("actor", "reason"), ACTORS)
def test_issue_assigned_and_labelled_by_mate_start_nothing(actor, reason) -> None:
    change = {**assignee_change([], [bot_user(MATE)]), **label_change([], ["mate"])}
    payload = with_actor(issue_payload(assignees=[bot_user(MATE)], changes=change), actor)
    assert derive("Issue Hook", payload).ignored == reason


def test_the_same_deliveries_by_a_person_start_jobs() -> None:
    """Control: the payloads above, with a human actor, do yield events."""
    assert derive("Note Hook", note_payload("@mate-bot please")).events
    assert derive("Merge Request Hook", mr_payload(action="open")).events
    change = assignee_change([], [bot_user(MATE)])
    assert derive("Issue Hook", issue_payload(assignees=[bot_user(MATE)], changes=change)).events


def test_minted_ids_are_the_callers_list() -> None:
    """Without the minted id (a token of another Mate, say) a non-bot-named user is a person."""
    payload = note_payload("@mate-bot please", author=(KEY_USER[0], "renamed"))
    assert derive("Note Hook", payload, minted=()).events
    assert derive("Note Hook", payload, minted=[True, "501", None]).events  # junk is no id


def test_failed_pipeline_of_mate_is_exempt() -> None:
    payload = with_actor(pipeline_payload(), KEY_USER)
    (event,) = derive("Pipeline Hook", payload).events
    assert event.event == "pipeline_failed"


# --- where an MR Mate wrote reads .mate.yml ------------------------------------------------------


def test_human_event_on_an_mr_mate_opened_reads_the_default_branch() -> None:
    change = assignee_change([], [bot_user(MATE)])
    payload = mr_payload(assignees=[bot_user(MATE)], changes=change)
    payload["object_attributes"]["author_id"] = KEY_USER[0]
    (event,) = derive("Merge Request Hook", payload).events
    assert (event.config_ref, event.config_ref_reason) == ("main", MATE_MR_REASON)
    payload["object_attributes"]["author_id"] = MATE.user_id  # the bot PAT fallback
    (event,) = derive("Merge Request Hook", payload).events
    assert (event.config_ref, event.config_ref_reason) == ("main", MATE_MR_REASON)
    # control: a person's MR reads its source branch
    payload["object_attributes"]["author_id"] = 2
    (event,) = derive("Merge Request Hook", payload).events
    assert event.config_ref == "feature/login"


def test_gitlab_bot_author_named_in_the_payload_reads_the_default_branch() -> None:
    change = assignee_change([], [bot_user(MATE)])
    payload = mr_payload(assignees=[bot_user(MATE), user(*OTHER_BOT)], changes=change)
    payload["object_attributes"]["author_id"] = OTHER_BOT[0]
    (event,) = derive("Merge Request Hook", payload).events
    assert (event.config_ref, event.config_ref_reason) == ("main", MATE_MR_REASON)


def test_human_mention_on_an_mr_mate_opened_reads_the_default_branch() -> None:
    target = {**mr_object(), "author_id": KEY_USER[0]}
    payload = note_payload("@mate-bot review", noteable_type="MergeRequest", target=target)
    (event,) = derive("Note Hook", payload).events
    assert (event.config_ref, event.config_ref_reason) == ("main", MATE_MR_REASON)


def test_mate_pipeline_reads_the_default_branch() -> None:
    for mr in (None, pipeline_mr()):
        (event,) = derive("Pipeline Hook", with_actor(pipeline_payload(mr=mr), KEY_USER)).events
        assert event.config_ref == "main"
        assert event.config_ref_reason in (MATE_MR_REASON, PIPELINE_MATE_REASON)
    (event,) = derive("Pipeline Hook", pipeline_payload()).events
    assert event.config_ref == "feature/login"  # control: a person's push


def test_involved_user_ids() -> None:
    payload = note_payload("hi", noteable_type="MergeRequest", author=KEY_USER)
    payload["merge_request"]["author_id"] = 9
    assert involved_user_ids(payload) == {KEY_USER[0], 9}
    assert involved_user_ids(mr_payload()) == {1, 2}
    assert involved_user_ids([1]) == frozenset() and involved_user_ids({"user": "x"}) == set()
