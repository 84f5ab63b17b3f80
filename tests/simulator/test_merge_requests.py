"""Merge requests: create, read, update, diffs, and merging with GitLab's refusals."""

from __future__ import annotations

import gitlab
import pytest
import requests


def feature(world, branch="feature", files=None):
    world.sim.commit_files(
        world.project,
        branch,
        files or {"src/app.py": "def main():\n    return 2\n", "NEW.md": "new\n"},
        "Feature work",
        world.users["developer"],
        start_branch="main",
    )


def merge_call(world, iid, who="maintainer", **payload):
    return requests.put(
        f"{world.sim.api_url}/projects/{world.project.id}/merge_requests/{iid}/merge",
        headers={"PRIVATE-TOKEN": world.tokens[who]},
        json=payload,
        timeout=10,
    )


def test_create_get_list(world):
    feature(world)
    bot = world.users["bot"]
    mr = world.api("developer").mergerequests.create(
        {
            "source_branch": "feature",
            "target_branch": "main",
            "title": "Draft: Add feature",
            "description": "Body",
            "assignee_ids": [bot.id],
            "labels": "bug,backend",
        }
    )
    assert mr.iid == 1 and mr.state == "opened"
    assert mr.draft is True and mr.work_in_progress is True
    assert mr.assignees[0]["username"] == "mate-bot"
    assert mr.labels == ["bug", "backend"]
    assert mr.sha == world.sim.branch_sha(world.project, "feature")
    assert mr.detailed_merge_status == "draft_status"
    assert mr.references["full"] == "acme/widgets!1"
    assert mr.web_url.endswith("/acme/widgets/-/merge_requests/1")
    got = world.api("reporter").mergerequests.get(1)
    assert got.diff_refs["head_sha"] == mr.sha
    assert got.diff_refs["base_sha"] == world.sim.branch_sha(world.project, "main")
    assert got.changes_count == "2"
    listed = world.api().mergerequests.list(state="opened", source_branch="feature", get_all=True)
    assert [m.iid for m in listed] == [1]


def test_create_refusals(world):
    feature(world)
    project = world.api("developer")
    project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "one"}
    )
    cases = [
        ({"source_branch": "feature", "target_branch": "main"}, 409,
         ["Another open merge request already exists for this source branch: !1"]),
        ({"source_branch": "ghost", "target_branch": "main"}, 422, ['Source branch "ghost" does not exist']),
        ({"source_branch": "main", "target_branch": "main"}, 422,
         ["You can't use same project/branch for source and target"]),
    ]  # fmt: skip
    for payload, status, message in cases:
        with pytest.raises(gitlab.GitlabCreateError) as exc:
            project.mergerequests.create({**payload, "title": "t"})
        assert exc.value.response_code == status
        assert exc.value.error_message == message
    with pytest.raises(gitlab.GitlabCreateError) as exc:
        world.api("reporter").mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "t"}
        )
    assert exc.value.response_code == 403


def test_update_assignees_labels_title(world):
    feature(world)
    mr = world.sim.add_merge_request(
        world.project, "feature", "main", world.users["developer"], "Draft: x"
    )
    api_mr = world.api("developer").mergerequests.get(mr.iid)
    api_mr.assignee_ids = [world.users["bot"].id]
    api_mr.labels = ["ready"]
    api_mr.title = "x"
    api_mr.save()
    assert mr.assignee_ids == [world.users["bot"].id]
    assert mr.labels == ["ready"]
    assert mr.draft is False


def test_diffs_paginated(world):
    feature(world, files={f"gen/file{i:02}.txt": f"line {i}\n" for i in range(25)})
    mr = world.sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    path = f"/projects/{world.project.id}/merge_requests/{mr.iid}/diffs"
    first = requests.get(
        f"{world.sim.api_url}{path}",
        headers={"PRIVATE-TOKEN": world.tokens["reporter"]},
        timeout=10,
    )
    assert len(first.json()) == 20
    assert first.headers["X-Total"] == "25" and first.headers["X-Next-Page"] == "2"
    everything = world.gl("reporter").http_list(path, get_all=True)
    assert len(everything) == 25
    diff = everything[0]
    assert diff["new_path"] == diff["old_path"] == "gen/file00.txt"
    assert (
        diff["new_file"] is True and diff["deleted_file"] is False and diff["renamed_file"] is False
    )
    assert diff["a_mode"] == "0" and diff["b_mode"] == "100644"
    assert diff["diff"] == "@@ -0,0 +1 @@\n+line 0\n"


def test_diff_kinds_and_changes(world):
    world.sim.commit_files(
        world.project,
        "feature",
        {"docs/guide.md": None, "src/app.py": "changed\n"},
        start_branch="main",
    )
    world.api("developer").commits.create(
        {
            "branch": "feature",
            "commit_message": "move",
            "actions": [
                {"action": "move", "file_path": "README2.md", "previous_path": "README.md"}
            ],
        }
    )
    mr = world.sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    changes = world.api().mergerequests.get(mr.iid).changes()["changes"]
    by_path = {c["new_path"]: c for c in changes}
    assert by_path["docs/guide.md"]["deleted_file"] is True
    assert (
        by_path["README2.md"]["renamed_file"] is True
        and by_path["README2.md"]["old_path"] == "README.md"
    )
    assert by_path["src/app.py"]["diff"].startswith("@@ -1,2 +1 @@\n")


def test_merge_success_writes_merge_commit(world):
    feature(world)
    mr = world.sim.add_merge_request(
        world.project, "feature", "main", world.users["developer"], "Add feature"
    )
    head = world.sim.branch_sha(world.project, "feature")
    merged = world.api().mergerequests.get(mr.iid)
    merged.merge(sha=head)
    assert merged.state == "merged"
    assert merged.merged_by["username"] == "maria"
    main = world.sim.branch_sha(world.project, "main")
    assert merged.merge_commit_sha == main
    info = world.sim.repo(world.project).commit_info(main)
    assert info["parent_ids"][1] == head
    assert info["message"].startswith("Merge branch 'feature' into 'main'")
    assert world.sim.read_file(world.project, "NEW.md") == b"new\n"
    again = merge_call(world, mr.iid)
    assert (again.status_code, again.json()) == (405, {"message": "405 Method Not Allowed"})


def test_merge_refusals(world):
    feature(world)
    mr = world.sim.add_merge_request(
        world.project, "feature", "main", world.users["developer"], "Draft: wip"
    )
    draft = merge_call(world, mr.iid)
    assert (draft.status_code, draft.json()) == (405, {"message": "405 Method Not Allowed"})
    world.sim.update_merge_request(world.project, mr.iid, world.users["developer"], title="ready")
    developer = merge_call(world, mr.iid, "developer")  # main is protected: Maintainers merge
    assert (developer.status_code, developer.json()) == (401, {"message": "401 Unauthorized"})
    moved = merge_call(world, mr.iid, sha="f" * 40)
    head = world.sim.branch_sha(world.project, "feature")
    assert (moved.status_code, moved.json()) == (
        409,
        {"message": f"SHA does not match HEAD of source branch: {head}"},
    )
    world.sim.fail_next_merge(world.project)
    failed = merge_call(world, mr.iid)
    assert (failed.status_code, failed.json()) == (422, {"message": "Branch cannot be merged"})
    assert merge_call(world, mr.iid).status_code == 200


def test_developer_merges_into_unprotected_branch(world):
    world.sim.create_branch(world.project, "develop")
    feature(world)
    mr = world.sim.add_merge_request(world.project, "feature", "develop", world.users["developer"])
    assert merge_call(world, mr.iid, "developer").status_code == 200
    assert merge_call(world, 99, "developer").json() == {"message": "404 Not found"}


def test_conflicts_and_pipeline_must_succeed(world):
    feature(world, files={"README.md": "mine\n"})
    world.sim.commit_files(world.project, "main", {"README.md": "theirs\n"})
    mr = world.sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    got = world.api().mergerequests.get(mr.iid)
    assert got.has_conflicts is True and got.detailed_merge_status == "conflict"
    assert merge_call(world, mr.iid).status_code == 405

    strict = world.sim.add_project(
        "acme/strict",
        members={world.users["maintainer"]: 40},
        only_allow_merge_if_pipeline_succeeds=True,
    )
    world.sim.commit_files(strict, "feature", {"a.txt": "a"}, start_branch="main")
    mr = world.sim.add_merge_request(strict, "feature", "main", world.users["maintainer"])
    world.sim.add_pipeline(strict, "feature", "failed", merge_request=mr)
    url = f"{world.sim.api_url}/projects/{strict.id}/merge_requests/{mr.iid}/merge"
    headers = {"PRIVATE-TOKEN": world.tokens["maintainer"]}
    assert requests.put(url, headers=headers, timeout=10).status_code == 405
    world.sim.add_pipeline(strict, "feature", "success", merge_request=mr)
    assert requests.put(url, headers=headers, timeout=10).status_code == 200


def test_fork_merge_request(world):
    fork = world.sim.add_project(
        "dev/widgets", fork_of=world.project, members={world.users["developer"]: 50}
    )
    world.sim.commit_files(fork, "patch", {"FORK.md": "from fork\n"}, start_branch="main")
    mr = (
        world.gl("developer")
        .projects.get(fork.id)
        .mergerequests.create(
            {
                "source_branch": "patch",
                "target_branch": "main",
                "title": "From fork",
                "target_project_id": world.project.id,
            }
        )
    )
    assert mr.project_id == world.project.id
    assert mr.source_project_id == fork.id and mr.target_project_id == world.project.id
    assert merge_call(world, mr.iid).status_code == 200
    assert world.sim.read_file(world.project, "FORK.md") == b"from fork\n"
    assert world.gl("developer").projects.get(fork.id).forked_from_project["id"] == world.project.id


def test_mr_commits_and_pipelines(world):
    feature(world)
    mr = world.sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    pipeline = world.sim.add_pipeline(world.project, "feature", "running", merge_request=mr)
    api_mr = world.api().mergerequests.get(mr.iid)
    assert [c.title for c in api_mr.commits()] == ["Feature work"]
    assert [p.id for p in api_mr.pipelines.list(get_all=True)] == [pipeline.id]
    assert api_mr.head_pipeline["status"] == "running"
