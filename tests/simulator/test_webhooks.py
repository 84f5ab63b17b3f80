"""Webhooks as GitLab sends them: headers, payload shapes, changes, signing, replay."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest

from tests.gitlab_sim import new_signing_token


def hooked(world, receiver, **kwargs):
    kwargs.setdefault("token", "s3cret")
    return world.sim.add_hook(world.project, receiver.url, **kwargs)


def test_issue_assignment_delivery(world, receiver):
    hooked(world, receiver)
    sim = world.sim
    sim.add_issue(world.project, "Broken", "It breaks", world.users["reporter"], labels=["bug"])
    deliveries = sim.assign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    assert len(deliveries) == 1 and deliveries[0].status == 200
    assert deliveries.object.assignee_ids == [world.users["bot"].id]
    request = receiver.requests[0]
    headers = request["headers"]
    assert request["path"] == "/hook/tenant-1"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Gitlab-Event"] == "Issue Hook"
    assert headers["X-Gitlab-Token"] == "s3cret"
    assert headers["User-Agent"].startswith("GitLab/18.")
    assert headers["X-Gitlab-Instance"] == sim.url
    for name in ("X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key"):
        uuid.UUID(headers[name])
    assert "webhook-signature" not in {k.lower() for k in headers}
    body = receiver.json()
    assert body["object_kind"] == "issue" and body["event_type"] == "issue"
    assert body["user"] == {
        "id": world.users["maintainer"].id,
        "name": "Maria Maintainer",
        "username": "maria",
        "avatar_url": body["user"]["avatar_url"],
        "email": "[REDACTED]",
    }
    project = body["project"]
    assert project["id"] == world.project.id and project["path_with_namespace"] == "acme/widgets"
    assert project["web_url"] == f"{sim.url}/acme/widgets"
    assert project["git_http_url"] == f"{sim.url}/acme/widgets.git"
    assert project["default_branch"] == "main"
    attrs = body["object_attributes"]
    assert attrs["iid"] == 1 and attrs["title"] == "Broken" and attrs["description"] == "It breaks"
    assert attrs["action"] == "update" and attrs["state"] == "opened"
    assert attrs["author_id"] == world.users["reporter"].id
    assert attrs["assignee_ids"] == [world.users["bot"].id]
    assert attrs["url"] == f"{sim.url}/acme/widgets/-/issues/1"
    assert [label["title"] for label in attrs["labels"]] == ["bug"]
    assert [label["title"] for label in body["labels"]] == ["bug"]
    assert body["changes"]["assignees"]["previous"] == []
    assert [u["username"] for u in body["changes"]["assignees"]["current"]] == ["mate-bot"]
    assert body["changes"]["assignees"]["current"][0]["id"] == world.users["bot"].id
    assert [u["username"] for u in body["assignees"]] == ["mate-bot"]
    assert body["repository"]["homepage"] == f"{sim.url}/acme/widgets"


def test_unassign_omits_assignees_key(world, receiver):
    hooked(world, receiver)
    world.sim.add_issue(
        world.project, "Broken", "", world.users["reporter"], assignees=["mate-bot"]
    )
    world.sim.unassign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    body = receiver.json()
    assert "assignees" not in body
    assert body["changes"]["assignees"]["current"] == []
    assert [u["username"] for u in body["changes"]["assignees"]["previous"]] == ["mate-bot"]


def test_label_changes_on_merge_request(world, receiver):
    hooked(world, receiver)
    mr = world.sim.add_merge_request(
        world.project, "feature", "main", world.users["developer"], assignees=["mate-bot"]
    )
    world.sim.add_labels(
        world.project, "merge_request", mr.iid, ["needs-fix"], by=world.users["maintainer"]
    )
    body = receiver.json()
    assert receiver.requests[0]["headers"]["X-Gitlab-Event"] == "Merge Request Hook"
    assert (
        body["object_kind"] == "merge_request" and body["object_attributes"]["action"] == "update"
    )
    assert body["changes"]["labels"] == {
        "previous": [],
        "current": [body["labels"][0]],
    }
    label = body["labels"][0]
    assert label["title"] == "needs-fix" and label["type"] == "ProjectLabel"
    assert {
        "id",
        "color",
        "project_id",
        "created_at",
        "template",
        "description",
        "group_id",
    } <= set(label)
    assert "assignees" not in body["changes"]
    assert [u["username"] for u in body["assignees"]] == ["mate-bot"]


def test_open_merge_request_payload(world, receiver):
    hooked(world, receiver)
    world.sim.commit_files(world.project, "feature", {"a.txt": "a"}, start_branch="main")
    emitted = world.sim.open_merge_request(
        world.project,
        "feature",
        "main",
        world.users["developer"],
        "Add a",
        assignees=["mate-bot"],
        draft=True,
    )
    attrs = receiver.json()["object_attributes"]
    assert attrs["action"] == "open" and attrs["iid"] == emitted.object.iid
    assert attrs["source_branch"] == "feature" and attrs["target_branch"] == "main"
    assert attrs["source_project_id"] == attrs["target_project_id"] == world.project.id
    assert attrs["draft"] is True and attrs["work_in_progress"] is True
    assert attrs["title"] == "Draft: Add a"
    assert attrs["assignee_ids"] == [world.users["bot"].id]
    assert attrs["last_commit"]["id"] == world.sim.branch_sha(world.project, "feature")
    assert attrs["source"]["path_with_namespace"] == "acme/widgets"
    assert attrs["url"].endswith("/acme/widgets/-/merge_requests/1")
    assert "assignees" not in receiver.json()["changes"]


def test_fork_merge_request_payload_names_both_projects(world, receiver):
    hooked(world, receiver)
    fork = world.sim.add_project(
        "dev/widgets", fork_of=world.project, members={world.users["developer"]: 50}
    )
    world.sim.commit_files(fork, "patch", {"x": "x"}, start_branch="main")
    world.sim.open_merge_request(
        world.project, "patch", "main", world.users["developer"], source_project=fork
    )
    attrs = receiver.json()["object_attributes"]
    assert attrs["source_project_id"] == fork.id and attrs["target_project_id"] == world.project.id
    assert attrs["source"]["path_with_namespace"] == "dev/widgets"
    assert attrs["target"]["path_with_namespace"] == "acme/widgets"


def test_note_hooks_on_issue_and_merge_request(world, receiver):
    hooked(world, receiver)
    sim = world.sim
    sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    mr = sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    sim.post_note(world.project, "issue", 1, "@mate-bot please look", world.users["reporter"])
    sim.post_note(
        world.project, "merge_request", mr.iid, "and here @mate-bot", world.users["reporter"]
    )
    sim.post_note(
        world.project, "issue", 1, "changed the description", world.users["reporter"], system=True
    )
    on_issue, on_mr, system = (receiver.json(i) for i in range(3))
    assert receiver.requests[0]["headers"]["X-Gitlab-Event"] == "Note Hook"
    assert on_issue["object_kind"] == "note" and on_issue["event_type"] == "note"
    attrs = on_issue["object_attributes"]
    assert attrs["note"] == "@mate-bot please look" and attrs["noteable_type"] == "Issue"
    assert attrs["system"] is False and attrs["author_id"] == world.users["reporter"].id
    assert attrs["url"].startswith(f"{sim.url}/acme/widgets/-/issues/1#note_")
    assert on_issue["issue"]["iid"] == 1 and "merge_request" not in on_issue
    assert on_issue["project_id"] == world.project.id
    assert on_mr["object_attributes"]["noteable_type"] == "MergeRequest"
    assert (
        on_mr["merge_request"]["iid"] == mr.iid
        and on_mr["merge_request"]["source_branch"] == "feature"
    )
    assert "issue" not in on_mr
    assert system["object_attributes"]["system"] is True


def test_failed_pipeline_hook(world, receiver):
    hooked(world, receiver)
    mr = world.sim.add_merge_request(
        world.project, "feature", "main", world.users["developer"], assignees=["mate-bot"]
    )
    emitted = world.sim.fail_pipeline(
        world.project, "feature", merge_request=mr, by=world.users["developer"]
    )
    body = receiver.json()
    assert receiver.requests[0]["headers"]["X-Gitlab-Event"] == "Pipeline Hook"
    assert body["object_kind"] == "pipeline"
    attrs = body["object_attributes"]
    assert attrs["id"] == emitted.object.id and attrs["status"] == "failed"
    assert attrs["ref"] == "feature" and attrs["source"] == "merge_request_event"
    assert attrs["sha"] == world.sim.branch_sha(world.project, "feature")
    assert attrs["stages"] == ["build", "test"]
    assert (
        body["merge_request"]["iid"] == mr.iid
        and body["merge_request"]["source_branch"] == "feature"
    )
    assert {b["name"]: b["status"] for b in body["builds"]} == {
        "build": "success",
        "test": "failed",
    }
    assert body["user"]["username"] == "dev"
    assert body["commit"]["id"] == attrs["sha"]
    plain = world.sim.fail_pipeline(world.project, "main")
    assert receiver.json()["merge_request"] is None and plain[0].ok


def test_signing_token_standard_webhooks(world, receiver):
    secret = new_signing_token()
    hooked(world, receiver, signing_token=secret)
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    (delivery,) = world.sim.assign_issue(
        world.project, 1, ["mate-bot"], by=world.users["maintainer"]
    )
    headers = {k.lower(): v for k, v in receiver.requests[0]["headers"].items()}
    body = receiver.requests[0]["body"]
    assert headers["webhook-id"] == headers["idempotency-key"] == delivery.idempotency_key
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    version, signature = headers["webhook-signature"].split(",", 1)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert version == "v1" and hmac.compare_digest(signature, expected)
    with pytest.raises(ValueError):
        world.sim.add_hook(world.project, receiver.url, signing_token="not-whsec")


def test_redeliver_keeps_idempotency_key(world, receiver):
    hooked(world, receiver, signing_token=new_signing_token())
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    (first,) = world.sim.assign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    again = world.sim.redeliver(first)
    assert again.status == 200 and again.redelivery_of == first.id
    one, two = receiver.requests
    assert one["body"] == two["body"]
    assert one["headers"]["Idempotency-Key"] == two["headers"]["Idempotency-Key"]
    # Built anew by the request that resends (RecursionDetection::UUID is per request and hook).
    assert one["headers"]["X-Gitlab-Event-UUID"] != two["headers"]["X-Gitlab-Event-UUID"]
    assert one["headers"]["X-Gitlab-Webhook-UUID"] != two["headers"]["X-Gitlab-Webhook-UUID"]
    assert world.sim.deliveries == [first, again]


def test_failed_receiver_is_recorded(world, receiver):
    hooked(world, receiver)
    receiver.status = 500
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    (delivery,) = world.sim.add_labels(
        world.project, "issue", 1, ["x"], by=world.users["maintainer"]
    )
    assert delivery.status == 500 and not delivery.ok
    world.project.hooks[0].url = "http://127.0.0.1:9/nothing-listens"
    (dead,) = world.sim.add_labels(world.project, "issue", 1, ["y"], by=world.users["maintainer"])
    assert dead.status is None and dead.error


def test_api_actions_send_hooks_after_the_response(world, receiver):
    hooked(world, receiver)
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    world.api("bot").issues.get(1).notes.create({"body": "On it."})
    world.sim.wait_for_deliveries()
    body = receiver.json()
    assert body["object_kind"] == "note" and body["user"]["username"] == "mate-bot"
    issue = world.api("maintainer").issues.get(1)
    issue.assignee_ids = [world.users["bot"].id]
    issue.save()
    world.sim.wait_for_deliveries()
    assert receiver.json()["changes"]["assignees"]["current"][0]["username"] == "mate-bot"


def test_event_filters_and_confidential_issues(world, receiver):
    hooked(world, receiver, events=["issues"])
    sim = world.sim
    sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    assert sim.post_note(world.project, "issue", 1, "hello", world.users["reporter"]) == []
    secret = sim.open_issue(world.project, "Secret", world.users["reporter"], confidential=True)
    assert secret == []
    world.project.hooks[0].events.add("confidential_issues_events")
    sim.assign_issue(world.project, secret.object.iid, ["mate-bot"], by=world.users["maintainer"])
    assert receiver.requests[-1]["headers"]["X-Gitlab-Event"] == "Confidential Issue Hook"
    assert receiver.json()["event_type"] == "confidential_issue"


def test_hooks_only_to_loopback(world):
    with pytest.raises(ValueError):
        world.sim.add_hook(world.project, "http://192.0.2.1/hook")


def test_body_is_compact_json(world, receiver):
    hooked(world, receiver)
    world.sim.open_issue(world.project, "Opened", world.users["reporter"])
    raw = receiver.requests[0]["body"]
    assert raw == json.dumps(json.loads(raw), separators=(",", ":")).encode()
    changes = receiver.json()["changes"]
    assert changes["title"] == {"previous": None, "current": "Opened"}
    assert receiver.json()["object_attributes"]["action"] == "open"
