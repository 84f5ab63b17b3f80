"""Issues (get, list, update assignees and labels) and notes on issues and MRs."""

from __future__ import annotations

import gitlab
import pytest
import requests


def test_get_and_list_issues(world):
    sim = world.sim
    sim.add_issue(world.project, "First", "Body", world.users["reporter"], labels=["bug"])
    sim.add_issue(world.project, "Second", "", world.users["reporter"], assignees=["mate-bot"])
    issue = world.api("guest").issues.get(1)
    assert issue.title == "First" and issue.description == "Body"
    assert issue.state == "opened" and issue.labels == ["bug"]
    assert issue.author["username"] == "rita"
    assert issue.references["full"] == "acme/widgets#1"
    assert issue.web_url == f"{sim.url}/acme/widgets/-/issues/1"
    listed = world.api().issues.list(get_all=True)
    assert [i.iid for i in listed] == [2, 1]
    assert [i.iid for i in world.api().issues.list(labels="bug", get_all=True)] == [1]
    assert [i.iid for i in world.api().issues.list(assignee_username="mate-bot", get_all=True)] == [
        2
    ]
    with pytest.raises(gitlab.GitlabGetError) as exc:
        world.api().issues.get(42)
    assert exc.value.error_message == "404 Not found"


def test_update_assignees_and_labels(world):
    world.sim.add_issue(world.project, "Fix it", "", world.users["reporter"])
    issue = world.api("reporter").issues.get(1)
    issue.assignee_ids = [world.users["bot"].id]
    issue.labels = ["bug", "p1"]
    issue.save()
    stored = world.sim.issue(world.project, 1)
    assert stored.assignee_ids == [world.users["bot"].id]
    assert stored.labels == ["bug", "p1"]
    response = requests.put(
        f"{world.sim.api_url}/projects/{world.project.id}/issues/1",
        headers={"PRIVATE-TOKEN": world.tokens["reporter"]},
        data={"add_labels": "p2", "remove_labels": "bug"},
        timeout=10,
    )
    assert response.json()["labels"] == ["p1", "p2"]
    closed = requests.put(
        f"{world.sim.api_url}/projects/{world.project.id}/issues/1",
        headers={"PRIVATE-TOKEN": world.tokens["reporter"]},
        json={"state_event": "close"},
        timeout=10,
    ).json()
    assert closed["state"] == "closed" and closed["closed_by"]["username"] == "rita"


def test_guest_cannot_update_someone_elses_issue(world):
    world.sim.add_issue(world.project, "Fix it", "", world.users["reporter"])
    response = requests.put(
        f"{world.sim.api_url}/projects/{world.project.id}/issues/1",
        headers={"PRIVATE-TOKEN": world.tokens["guest"]},
        json={"assignee_ids": [1]},
        timeout=10,
    )
    assert response.status_code == 403


def test_notes_on_issue_with_system_notes(world):
    sim = world.sim
    sim.add_issue(world.project, "Fix it", "", world.users["reporter"])
    sim.assign_issue(world.project, 1, ["mate-bot"], by=world.users["maintainer"])
    issue = world.api("guest").issues.get(1)
    note = issue.notes.create({"body": "Any news, @mate-bot?"})
    assert note.body == "Any news, @mate-bot?"
    assert note.system is False
    assert note.author["username"] == "gus"
    assert note.noteable_type == "Issue" and note.noteable_iid == 1
    notes = issue.notes.list(get_all=True)
    assert [n.system for n in notes] == [False, True]  # newest first, as GitLab sorts by default
    assert notes[1].body == "assigned to @mate-bot"
    ascending = issue.notes.list(get_all=True, sort="asc")
    assert [n.id for n in ascending] == [n.id for n in reversed(notes)]
    assert issue.notes.get(note.id).body == note.body


def test_notes_on_merge_request(world):
    world.sim.commit_files(world.project, "feature", {"a.txt": "a"}, start_branch="main")
    mr = world.sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    api_mr = world.api("reporter").mergerequests.get(mr.iid)
    note = api_mr.notes.create({"body": "LGTM"})
    assert note.noteable_type == "MergeRequest"
    assert [n.body for n in api_mr.notes.list(get_all=True)] == ["LGTM"]
    guest = requests.post(
        f"{world.sim.api_url}/projects/{world.project.id}/merge_requests/{mr.iid}/notes",
        headers={"PRIVATE-TOKEN": world.tokens["guest"]},
        json={"body": "hi"},
        timeout=10,
    )
    assert guest.status_code == 404
    empty = requests.post(
        f"{world.sim.api_url}/projects/{world.project.id}/merge_requests/{mr.iid}/notes",
        headers={"PRIVATE-TOKEN": world.tokens["reporter"]},
        json={},
        timeout=10,
    )
    assert empty.json() == {"error": "body is missing"}


def test_confidential_issue_hidden_from_guests(world):
    world.sim.add_issue(world.project, "Secret", "", world.users["reporter"], confidential=True)
    with pytest.raises(gitlab.GitlabGetError):
        world.api("guest").issues.get(1)
    assert world.api("reporter").issues.get(1).confidential is True


def test_pipelines_jobs_and_trace(world):
    sim = world.sim
    pipeline = sim.add_pipeline(
        world.project,
        "main",
        "failed",
        jobs=[
            {"name": "build", "stage": "build", "status": "success", "log": "built\n"},
            {
                "name": "test",
                "stage": "test",
                "status": "failed",
                "log": "boom\nERROR: Job failed\n",
            },
        ],
    )
    project = world.api("reporter")
    got = project.pipelines.get(pipeline.id)
    assert got.status == "failed" and got.ref == "main"
    assert got.sha == sim.branch_sha(world.project, "main")
    assert got.web_url.endswith(f"/-/pipelines/{pipeline.id}")
    jobs = got.jobs.list(get_all=True)
    assert {j.name: j.status for j in jobs} == {"build": "success", "test": "failed"}
    failed = next(j for j in jobs if j.status == "failed")
    assert failed.failure_reason == "script_failure"
    assert failed.pipeline["id"] == pipeline.id
    assert project.jobs.get(failed.id).trace() == b"boom\nERROR: Job failed\n"
    assert [j.name for j in got.jobs.list(scope="failed", get_all=True)] == ["test"]
    guest = requests.get(
        f"{sim.api_url}/projects/{world.project.id}/pipelines/{pipeline.id}",
        headers={"PRIVATE-TOKEN": world.tokens["guest"]},
        timeout=10,
    )
    assert guest.status_code == 403
    missing = requests.get(
        f"{sim.api_url}/projects/{world.project.id}/jobs/999/trace",
        headers={"PRIVATE-TOKEN": world.tokens["reporter"]},
        timeout=10,
    )
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Not found"})
