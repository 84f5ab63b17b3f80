"""jobs.routing.confirm: an event against GitLab's answer (SPEC §5.3 step 3a), pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jobs.events import derive_events
from jobs.routing.confirm import Answer, needs, reconcile
from tests.jobs.test_events import (
    BOTS,
    issue_payload,
    mr_payload,
    note_payload,
    pipeline_mr,
    pipeline_payload,
    user,
)

BOT_IDS = {b.username: b.user_id for b in BOTS}
MATE = {"id": 7, "username": "mate-bot"}


def event_of(hook: str, payload: dict, default: str = "mate-bot"):
    (event, *_) = derive_events(hook, payload, BOTS, default).events
    return event


def issue(**fields) -> dict:
    return {
        "iid": 23,
        "assignees": [MATE],
        "author": {"id": 2, "username": "alice"},
        "labels": ["bug"],
        "state": "opened",
        "title": "Crash on save (as GitLab says)",
        "web_url": "https://gitlab.example/acme/widget/-/issues/23",
        **fields,
    }


def mr(**fields) -> dict:
    refs = {
        "iid": 3,
        "source_branch": "feature/login",
        "target_branch": "main",
        "source_project_id": 14,
        "target_project_id": 14,
        "draft": False,
    }
    return issue(**{**refs, **fields})


def note(**fields) -> dict:
    return {"id": 1241, "body": "hi @mate-bot", "author": {"id": 2, "username": "alice"}, **fields}


ASSIGNED = issue_payload(
    assignees=[user(7, "mate-bot")],
    changes={"assignees": {"previous": [], "current": [user(7, "mate-bot")]}},
)


def test_needs_reads_the_object_the_note_and_the_pipeline():
    mention = event_of("Note Hook", note_payload("hi @mate-bot"))
    assert needs(mention) == (needs(mention).__class__)("issue", 23, 1241, None)
    pipeline = event_of("Pipeline Hook", pipeline_payload(mr=pipeline_mr()))
    assert (needs(pipeline).kind, needs(pipeline).iid, needs(pipeline).pipeline_id) == (
        "merge_request",
        3,
        31,
    )
    branch = event_of("Pipeline Hook", pipeline_payload())
    assert (needs(branch).kind, needs(branch).pipeline_id) == (None, 31)


def test_an_assignment_is_rebuilt_from_gitlabs_object():
    event = event_of("Issue Hook", ASSIGNED)
    assert event.author is None  # the payload has author_id only
    confirmed = reconcile(event, Answer(obj=issue()), BOT_IDS, "mate-bot")
    assert confirmed.author == "alice"
    assert (confirmed.assignees, confirmed.assignee_ids) == (("mate-bot",), (7,))
    assert confirmed.labels == ("bug",)
    assert confirmed.title == "Crash on save (as GitLab says)"
    assert (confirmed.actor_id, confirmed.actor) == (1, "root")  # who assigned: the payload's


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (Answer(), "issue 23 does not exist"),
        (Answer(obj=issue(assignees=[])), "@mate-bot is not assigned to issue 23"),
    ],
)
def test_an_assignment_gitlab_does_not_show(answer, detail):
    event = event_of("Issue Hook", ASSIGNED)
    assert reconcile(event, answer, BOT_IDS, "mate-bot") == (
        f"the delivery does not match GitLab ({detail})"
    )


def test_a_label_must_be_on_the_object():
    payload = issue_payload(
        assignees=[user(7, "mate-bot")],
        changes={"labels": {"previous": [], "current": [{"title": "mate"}]}},
    )
    event = event_of("Issue Hook", payload)
    assert event.event == "label_applied"
    assert "label mate is not on issue 23" in reconcile(event, Answer(obj=issue()), BOT_IDS, None)
    confirmed = reconcile(event, Answer(obj=issue(labels=["mate"])), BOT_IDS, None)
    assert confirmed.labels == ("mate",)


def test_an_mrs_branches_and_state_must_be_gitlabs():
    event = event_of("Merge Request Hook", mr_payload(action="open"))
    assert event.event == "mr_opened" and event.bot == "mate-bot"
    opened = reconcile(event, Answer(obj=mr(assignees=[])), BOT_IDS, "mate-bot")
    assert (opened.actor, opened.actor_id) == ("alice", 2)  # the opener is the MR's author
    moved = reconcile(event, Answer(obj=mr(source_branch="evil")), BOT_IDS, "mate-bot")
    assert moved.endswith("(merge request 3's source branch is evil, not feature/login)")
    merged = reconcile(event, Answer(obj=mr(state="merged")), BOT_IDS, "mate-bot")
    assert merged.endswith("(merge request 3 is merged, not open)")
    review = replace(event, bot="mate.review")  # not the default bot, not assigned
    assert "@mate.review is not assigned" in reconcile(
        review, Answer(obj=mr()), BOT_IDS, "mate-bot"
    )


def test_a_mention_takes_gitlabs_note():
    event = event_of("Note Hook", note_payload("hi @mate-bot, payload text"))
    confirmed = reconcile(event, Answer(obj=issue(), note=note()), BOT_IDS, None)
    assert (confirmed.note_body, confirmed.author, confirmed.actor) == (
        "hi @mate-bot",
        "alice",
        "alice",
    )
    for found, detail in (
        (None, "note 1241 does not exist"),
        (note(system=True), "note 1241 is a system note"),
        (note(body="`@mate-bot` in code"), "note 1241 does not mention @mate-bot"),
        (note(author={"id": 9, "username": "eve"}), "note 1241 was written by @eve, not @alice"),
    ):
        assert reconcile(event, Answer(obj=issue(), note=found), BOT_IDS, None) == (
            f"the delivery does not match GitLab ({detail})"
        )


def test_a_pipeline_must_have_failed_on_its_ref():
    event = event_of("Pipeline Hook", pipeline_payload(ref="feature/x"))
    failed = {"id": 31, "status": "failed", "ref": "feature/x", "user": {"id": 5, "username": "u"}}
    confirmed = reconcile(event, Answer(pipeline=failed), BOT_IDS, "mate-bot")
    assert (confirmed.actor, confirmed.actor_id) == ("u", 5)
    passed = reconcile(event, Answer(pipeline={**failed, "status": "success"}), BOT_IDS, None)
    assert passed.endswith("(pipeline 31 did not fail; GitLab shows it success)")
    elsewhere = reconcile(event, Answer(pipeline={**failed, "ref": "main"}), BOT_IDS, None)
    assert elsewhere.endswith("(pipeline 31 ran on main, not feature/x)")
    assert reconcile(event, Answer(), BOT_IDS, None).endswith("(pipeline 31 does not exist)")


def test_an_mr_pipelines_api_ref_is_the_merge_request_ref():
    event = event_of("Pipeline Hook", pipeline_payload(mr=pipeline_mr()))
    run = {"status": "failed", "ref": "refs/merge-requests/3/head", "user": MATE}
    assert reconcile(event, Answer(obj=mr(), pipeline=run), BOT_IDS, None).pipeline_id == 31
    other = {**run, "ref": "refs/merge-requests/4/head"}
    assert "ran on refs/merge-requests/4/head" in reconcile(
        event, Answer(obj=mr(), pipeline=other), BOT_IDS, None
    )
    assert "merge request 3 does not exist" in reconcile(event, Answer(pipeline=run), BOT_IDS, None)
