"""The Test button, group hooks, "Resend request" and a GitLab before 17.4, as GitLab does them.

Sources: app/services/test_hooks/project_service.rb and base_service.rb,
app/models/concerns/integrations/project_test_data.rb, lib/api/hooks/trigger_test.rb,
app/services/web_hook_service.rb, lib/gitlab/web_hooks/recursion_detection/uuid.rb,
ee/app/models/ee/project.rb (``group_hooks``), gitlab-org/gitlab!160952 (Idempotency-Key, 17.4).
"""

from __future__ import annotations

import json
import uuid

import gitlab
import pytest


def hooked(world, receiver, **kwargs):
    kwargs.setdefault("token", "s3cret")
    return world.sim.add_hook(world.project, receiver.url, **kwargs)


def press_test(world, hook, trigger: str, who: str = "maintainer") -> None:
    """Settings > Webhooks > Test, through the API (python-gitlab's ProjectHook.test)."""
    project = world.gl(who).projects.get(world.project.id, lazy=True)
    project.hooks.get(hook.id, lazy=True).test(trigger)


def test_merge_request_test_is_the_newest_mr_opened_again_without_changes(world, receiver):
    sim, people = world.sim, world.users
    sim.create_branch(world.project, "feature/a")
    sim.create_branch(world.project, "feature/b")
    sim.add_merge_request(world.project, "feature/a", "main", people["developer"], "Older")
    newest = sim.add_merge_request(
        world.project, "feature/b", "main", people["developer"], "Newest", assignees=["mate-bot"]
    )
    hook = hooked(world, receiver, events=["note"])  # Test ignores what the hook takes
    press_test(world, hook, "merge_requests_events")
    (request,) = receiver.requests
    headers, body = request["headers"], json.loads(request["body"])
    assert headers["X-Gitlab-Event"] == "Merge Request Hook"
    for name in ("Idempotency-Key", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"):
        uuid.UUID(headers[name])  # ordinary headers: nothing says "test"
    attrs = body["object_attributes"]
    assert (attrs["iid"], attrs["action"], attrs["title"]) == (newest.iid, "open", "Newest")
    assert attrs["assignee_ids"] == [people["bot"].id]
    assert body["changes"] == {}  # loaded by a finder, nothing saved: no reportable changes
    assert body["user"]["username"] == "maria"  # whoever pressed Test


def test_a_real_opening_carries_the_creation_changes(world, receiver):
    """What tells a test apart: a real `open` has the saved attributes in `changes`."""
    hooked(world, receiver)
    world.sim.create_branch(world.project, "feature/real")
    world.sim.open_merge_request(
        world.project, "feature/real", "main", author=world.users["developer"], title="Real"
    )
    body = receiver.json()
    assert body["object_attributes"]["action"] == "open" and body["changes"]
    assert body["changes"]["id"]["previous"] is None


def test_issue_test_takes_the_trigger_header_whatever_the_issue(world, receiver):
    sim = world.sim
    sim.add_issue(world.project, "Public", "", world.users["reporter"])
    secret = sim.add_issue(world.project, "Secret", "", world.users["reporter"], confidential=True)
    hook = hooked(world, receiver)
    press_test(world, hook, "issues_events")
    press_test(world, hook, "confidential_issues_events")
    first, second = receiver.requests
    assert first["headers"]["X-Gitlab-Event"] == "Issue Hook"
    assert second["headers"]["X-Gitlab-Event"] == "Confidential Issue Hook"
    for request in (first, second):
        body = json.loads(request["body"])
        assert body["object_attributes"]["iid"] == secret.iid
        assert body["event_type"] == "confidential_issue" and body["changes"] == {}
        assert body["object_attributes"]["action"] == "open"


def test_note_test_is_the_newest_note_with_the_tester_as_user(world, receiver):
    sim, people = world.sim, world.users
    issue = sim.add_issue(world.project, "Q", "", people["reporter"])
    hook = hooked(world, receiver)
    sim.post_note(world.project, "issue", issue.iid, "first", people["developer"])
    sim.post_note(world.project, "issue", issue.iid, "@mate-bot newest", people["developer"])
    receiver.requests.clear()
    press_test(world, hook, "note_events")
    body = receiver.json()
    assert receiver.requests[0]["headers"]["X-Gitlab-Event"] == "Note Hook"
    assert body["object_attributes"]["note"] == "@mate-bot newest"
    assert body["object_attributes"]["author_id"] == people["developer"].id
    assert body["object_attributes"]["action"] == "create"
    assert body["user"]["id"] == people["maintainer"].id  # a real note hook: the author


def test_pipeline_test_is_the_newest_pipeline_as_it_was_sent(world, receiver):
    sim = world.sim
    hook = hooked(world, receiver)
    sim.fail_pipeline(world.project, "main", by=world.users["developer"])
    real = receiver.json()
    press_test(world, hook, "pipeline_events")
    test = receiver.json()
    assert receiver.requests[-1]["headers"]["X-Gitlab-Event"] == "Pipeline Hook"
    assert test == real  # Gitlab::DataBuilder::Pipeline.build(pipeline), the same data
    assert (
        receiver.requests[0]["headers"]["Idempotency-Key"]
        != receiver.requests[1]["headers"]["Idempotency-Key"]
    )


def test_test_answers(world, receiver):
    hook = hooked(world, receiver)
    with pytest.raises(gitlab.GitlabHookTestError) as empty:
        press_test(world, hook, "merge_requests_events")
    assert empty.value.response_code == 422
    assert "Ensure the project has merge requests." in str(empty.value)
    with pytest.raises(gitlab.GitlabHookTestError) as unavailable:
        press_test(world, hook, "confidential_note_events")
    assert "Testing not available for this hook" in str(unavailable.value)
    with pytest.raises(gitlab.GitlabHookTestError) as bad:
        press_test(world, hook, "nonsense_events")
    assert bad.value.response_code == 400
    with pytest.raises(gitlab.GitlabHookTestError) as denied:
        press_test(world, hook, "issues_events", who="developer")
    assert denied.value.response_code == 403
    world.sim.add_issue(world.project, "One", "", world.users["reporter"])
    receiver.status = 500
    with pytest.raises(gitlab.GitlabHookTestError) as refused:
        press_test(world, hook, "issues_events")
    assert refused.value.response_code == 422 and "ok" in str(refused.value)
    assert not receiver.requests[1:]  # only the one that was refused
    assert not world.sim.server_errors


@pytest.fixture
def subgroup_world(world):
    sim = world.sim
    sim.add_project("acme/tools/cli", members={world.users["maintainer"]: 40})
    return world


def test_group_hooks_fire_for_projects_of_the_group_and_subgroups(subgroup_world, receiver):
    world, sim = subgroup_world, subgroup_world.sim
    project_hook = hooked(world, receiver)
    group_hook = sim.add_group_hook("acme", receiver.url, token="group-secret")
    assert group_hook.id > project_hook.id  # one id sequence for both
    sim.add_issue(world.project, "Both", "", world.users["reporter"])
    sent = sim.assign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    assert [d.hook_id for d in sent] == [project_hook.id, group_hook.id]
    one, two = receiver.requests
    assert one["body"] == two["body"]  # the same data for every hook
    assert one["headers"]["X-Gitlab-Token"] == "s3cret"
    assert two["headers"]["X-Gitlab-Token"] == "group-secret"
    for name in ("Idempotency-Key", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"):
        assert one["headers"][name] != two["headers"][name]  # each hook its own
    cli = sim.state.project("acme/tools/cli")
    sim.add_issue(cli, "Sub", "", world.users["maintainer"])
    (only,) = sim.assign_issue(cli, 1, ["maria"], by=world.users["maintainer"])
    assert only.hook_id == group_hook.id  # a subgroup's project: the group's hook


def test_group_hooks_api(subgroup_world, receiver):
    world, sim = subgroup_world, subgroup_world.sim
    admin = sim.add_user("root", is_admin=True)
    gl = gitlab.Gitlab(sim.url, private_token=sim.add_pat(admin, ["api"]))
    group = gl.groups.get("acme", lazy=True)
    created = group.hooks.create({"url": receiver.url, "token": "t", "note_events": True})
    assert created.group_id == sim.state.namespaces["acme"]
    assert (created.note_events, created.issues_events, created.push_events) == (True, False, True)
    assert [h.id for h in group.hooks.list()] == [created.id]
    assert gl.groups.get(str(created.group_id), lazy=True).hooks.get(created.id).url == receiver.url
    nobody = gitlab.Gitlab(sim.url, private_token=world.tokens["maintainer"])
    with pytest.raises(gitlab.GitlabListError) as denied:
        nobody.groups.get("acme", lazy=True).hooks.list()
    assert denied.value.response_code == 403
    with pytest.raises(gitlab.GitlabListError):
        gl.groups.get("nowhere", lazy=True).hooks.list()
    issue = sim.add_issue(world.project, "Q", "", world.users["reporter"])
    sim.post_note(world.project, "issue", issue.iid, "hi", world.users["reporter"])
    assert receiver.requests[-1]["headers"]["X-Gitlab-Token"] == "t"
    group.hooks.delete(created.id)
    assert group.hooks.list() == []


def test_resend_keeps_body_and_key_but_not_the_uuids(world, receiver):
    """WebHooks::Events::ResendService: ``execute(log.request_data, log.trigger,
    idempotency_key: log.idempotency_key)`` from the request that pressed the button."""
    hooked(world, receiver)
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    (first,) = world.sim.assign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    world.sim.redeliver(first)
    one, two = receiver.requests
    assert one["body"] == two["body"]
    assert one["headers"]["Idempotency-Key"] == two["headers"]["Idempotency-Key"]
    assert one["headers"]["X-Gitlab-Event-UUID"] != two["headers"]["X-Gitlab-Event-UUID"]


def test_before_17_4_there_is_no_idempotency_key(world, receiver):
    world.sim.dispatcher.gitlab_version = "17.3.7"
    hooked(world, receiver)
    world.sim.add_issue(world.project, "Old", "", world.users["reporter"])
    (first,) = world.sim.assign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    world.sim.redeliver(first)
    one, two = receiver.requests
    assert "Idempotency-Key" not in one["headers"] and "Idempotency-Key" not in two["headers"]
    assert one["headers"]["User-Agent"] == "GitLab/17.3.7"
    assert one["body"] == two["body"]
    # What is left to tell a resend by: nothing in the headers.
    assert one["headers"]["X-Gitlab-Event-UUID"] != two["headers"]["X-Gitlab-Event-UUID"]
