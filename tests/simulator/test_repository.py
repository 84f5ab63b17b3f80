"""Files, trees, branches, protected branches and commits with actions."""

from __future__ import annotations

import base64

import gitlab
import pytest
import requests


def api(world, method, path, who="maintainer", **kwargs):
    headers = {"PRIVATE-TOKEN": world.tokens[who]}
    return requests.request(
        method, f"{world.sim.api_url}{path}", headers=headers, timeout=10, **kwargs
    )


def test_get_file_base64_with_metadata(world):
    f = world.api().files.get("src/app.py", ref="main")
    assert f.decode() == b"def main():\n    return 1\n"
    assert f.encoding == "base64"
    assert f.file_name == "app.py"
    assert f.file_path == "src/app.py"
    assert f.ref == "main"
    assert f.size == len(b"def main():\n    return 1\n")
    assert f.commit_id == world.sim.branch_sha(world.project, "main")
    assert f.last_commit_id == f.commit_id
    assert len(f.blob_id) == 40 and len(f.content_sha256) == 64
    assert f.execute_filemode is False


def test_file_headers_raw_and_errors(world):
    pid = world.project.id
    response = api(world, "GET", f"/projects/{pid}/repository/files/src%2Fapp.py?ref=main")
    assert response.headers["X-Gitlab-File-Path"] == "src/app.py"
    assert response.headers["X-Gitlab-Ref"] == "main"
    raw = api(world, "GET", f"/projects/{pid}/repository/files/src%2Fapp.py/raw")
    assert raw.status_code == 200 and raw.content == b"def main():\n    return 1\n"
    assert world.api().files.raw("README.md", ref="main") == b"# Widgets\n"
    missing_ref = api(world, "GET", f"/projects/{pid}/repository/files/README.md")
    assert (missing_ref.status_code, missing_ref.json()) == (400, {"error": "ref is missing"})
    missing = api(world, "GET", f"/projects/{pid}/repository/files/nope.txt?ref=main")
    assert (missing.status_code, missing.json()) == (404, {"message": "404 File Not Found"})
    bad_ref = api(world, "GET", f"/projects/{pid}/repository/files/README.md?ref=nope")
    assert (bad_ref.status_code, bad_ref.json()) == (404, {"message": "404 Commit Not Found"})


def test_guest_cannot_read_code_of_private_project(world):
    response = api(
        world, "GET", f"/projects/{world.project.id}/repository/files/README.md?ref=main", "guest"
    )
    assert response.status_code == 403
    assert response.json() == {"message": "403 Forbidden"}


def test_tree_plain_path_and_recursive(world):
    project = world.api()
    top = project.repository_tree(ref="main", get_all=True)
    assert [(e["type"], e["path"]) for e in top] == [
        ("tree", "docs"),
        ("tree", "src"),
        ("blob", "README.md"),
    ]
    assert {e["mode"] for e in top} == {"040000", "100644"}
    sub = project.repository_tree(path="src", ref="main", get_all=True)
    assert [e["path"] for e in sub] == ["src/util", "src/app.py"]
    everything = project.repository_tree(recursive=True, ref="main", get_all=True)
    blobs = sorted(e["path"] for e in everything if e["type"] == "blob")
    assert blobs == ["README.md", "docs/guide.md", "src/app.py", "src/util/helpers.py"]
    missing = api(world, "GET", f"/projects/{world.project.id}/repository/tree?path=nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Tree Not Found"})


def test_tree_pagination(world):
    world.sim.commit_files(world.project, "main", {f"many/f{i:02}.txt": str(i) for i in range(30)})
    response = api(
        world, "GET", f"/projects/{world.project.id}/repository/tree?path=many&per_page=10&page=2"
    )
    assert [e["name"] for e in response.json()] == [f"f{i:02}.txt" for i in range(10, 20)]
    assert response.headers["X-Total"] == "30"
    assert len(world.api().repository_tree(path="many", get_all=True)) == 30


def test_branches_list_get_create(world):
    project = world.api("developer")
    branch = project.branches.create({"branch": "feature", "ref": "main"})
    assert branch.name == "feature"
    assert branch.commit["id"] == world.sim.branch_sha(world.project, "main")
    assert branch.protected is False and branch.can_push is True and branch.default is False
    main = project.branches.get("main")
    assert main.protected is True and main.default is True and main.can_push is False
    assert sorted(b.name for b in project.branches.list(get_all=True)) == ["feature", "main"]
    with pytest.raises(gitlab.GitlabGetError) as exc:
        project.branches.get("nope")
    assert exc.value.error_message == "404 Branch Not Found"


def test_create_branch_with_query_parameters_and_errors(world):
    pid = world.project.id
    created = api(
        world, "POST", f"/projects/{pid}/repository/branches?branch=fix%2Fa&ref=main", "developer"
    )
    assert created.status_code == 201 and created.json()["name"] == "fix/a"
    again = api(
        world, "POST", f"/projects/{pid}/repository/branches?branch=fix%2Fa&ref=main", "developer"
    )
    assert (again.status_code, again.json()) == (400, {"message": "Branch already exists"})
    bad = api(world, "POST", f"/projects/{pid}/repository/branches?branch=x&ref=nope", "developer")
    assert (bad.status_code, bad.json()) == (400, {"message": "Invalid reference name: nope"})
    reporter = api(
        world, "POST", f"/projects/{pid}/repository/branches?branch=y&ref=main", "reporter"
    )
    assert reporter.status_code == 403
    missing = api(world, "POST", f"/projects/{pid}/repository/branches", "developer", json={})
    assert missing.json() == {"error": "branch is missing, ref is missing"}


def test_protected_branches(world):
    world.sim.protect_branch(world.project, "release/*", push_access_level=0, merge_access_level=30)
    rules = world.api().protectedbranches.list(get_all=True)
    assert [r.name for r in rules] == ["main", "release/*"]
    assert rules[0].push_access_levels[0]["access_level"] == 40
    assert rules[0].push_access_levels[0]["access_level_description"] == "Maintainers"
    assert rules[1].merge_access_levels[0]["access_level_description"] == "Developers + Maintainers"
    assert rules[0].allow_force_push is False
    assert (
        api(
            world, "GET", f"/projects/{world.project.id}/protected_branches", "reporter"
        ).status_code
        == 403
    )


def test_protected_branches_for_maintainers_only_before_15_11(world):
    """GitLab before 15.11 guarded the whole protected branches API with
    ``authorize_admin_project`` (lib/api/protected_branches.rb then: ``before {
    authorize_admin_project }``), so a Developer got 403; 15.11 lets Developers read it
    (``read_protected_branch``). The switch gives the old rule."""
    path = f"/projects/{world.project.id}/protected_branches"
    assert api(world, "GET", path, "developer").status_code == 200
    assert api(world, "GET", f"{path}/main", "developer").status_code == 200
    world.sim.protected_branches_for_maintainers()
    forbidden = api(world, "GET", path, "developer")
    assert (forbidden.status_code, forbidden.json()) == (403, {"message": "403 Forbidden"})
    assert api(world, "GET", f"{path}/main", "developer").status_code == 403
    assert api(world, "GET", path, "maintainer").status_code == 200
    world.sim.protected_branches_for_maintainers(False)
    assert api(world, "GET", path, "developer").status_code == 200


def commit_payload(**extra):
    payload = {
        "branch": "feature",
        "start_branch": "main",
        "commit_message": "Change things\n\nBody.",
        "actions": [
            {"action": "create", "file_path": "new.txt", "content": "new\n"},
            {
                "action": "update",
                "file_path": "src/app.py",
                "content": "def main():\n    return 2\n",
            },
            {"action": "delete", "file_path": "docs/guide.md"},
            {"action": "move", "file_path": "README.rst", "previous_path": "README.md"},
            {
                "action": "create",
                "file_path": "bin/tool",
                "content": base64.b64encode(b"\x00\x01binary").decode(),
                "encoding": "base64",
            },
        ],
    }
    payload.update(extra)
    return payload


def test_commit_with_actions_writes_a_real_commit(world):
    commit = world.api("developer").commits.create(commit_payload())
    sim, project = world.sim, world.project
    assert commit.id == sim.branch_sha(project, "feature")
    assert commit.parent_ids == [sim.branch_sha(project, "main")]
    assert commit.title == "Change things"
    assert commit.message == "Change things\n\nBody.\n"
    assert commit.author_name == "Dev Eloper"
    assert commit.author_email == "dev@example.com"
    assert commit.stats["additions"] >= 2
    assert sim.read_file(project, "new.txt", "feature") == b"new\n"
    assert sim.read_file(project, "src/app.py", "feature") == b"def main():\n    return 2\n"
    assert sim.read_file(project, "docs/guide.md", "feature") is None
    assert sim.read_file(project, "README.rst", "feature") == b"# Widgets\n"
    assert sim.read_file(project, "README.md", "feature") is None
    assert sim.read_file(project, "bin/tool", "feature") == b"\x00\x01binary"
    assert world.api().commits.get(commit.id).id == commit.id
    log = sim.repo(project).out("log", "--format=%an|%s", "feature")
    assert log.splitlines()[0] == "Dev Eloper|Change things"


def test_commit_errors_as_gitlab_words_them(world):
    pid = world.project.id

    def post(who="developer", **payload):
        return api(world, "POST", f"/projects/{pid}/repository/commits", who, json=payload)

    create_existing = post(
        **commit_payload(actions=[{"action": "create", "file_path": "README.md", "content": "x"}])
    )
    assert (create_existing.status_code, create_existing.json()) == (
        400,
        {"message": "A file with this name already exists"},
    )
    update_missing = post(
        **commit_payload(actions=[{"action": "update", "file_path": "x.md", "content": "x"}])
    )
    assert update_missing.json() == {"message": "A file with this name doesn't exist"}
    no_branch = post(
        branch="ghost",
        commit_message="m",
        actions=[{"action": "create", "file_path": "a", "content": "a"}],
    )
    assert no_branch.json() == {
        "message": "You can only create or edit files when you are on a branch"
    }
    protected = post(
        branch="main",
        commit_message="m",
        actions=[{"action": "create", "file_path": "a", "content": "a"}],
    )
    assert (protected.status_code, protected.json()) == (
        403,
        {"message": "403 Forbidden - You are not allowed to push into this branch"},
    )
    reporter = post("reporter", **commit_payload())
    assert reporter.status_code == 403
    assert post(branch="x").json() == {"error": "commit_message is missing, actions is missing"}
    bad_action = post(**commit_payload(actions=[{"action": "explode", "file_path": "a"}]))
    assert bad_action.json() == {"error": "actions[0][action] does not have a valid value"}
    assert world.sim.branch_sha(world.project, "feature") is None  # nothing half-written


def test_maintainer_commits_to_protected_branch_and_start_branch_rules(world):
    project = world.api("maintainer")
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "m",
            "actions": [{"action": "create", "file_path": "a.txt", "content": "a"}],
        }
    )
    assert world.sim.read_file(world.project, "a.txt") == b"a"
    world.api("developer").commits.create(commit_payload())
    with pytest.raises(gitlab.GitlabCreateError) as exc:
        world.api("developer").commits.create(commit_payload())
    assert "A branch called 'feature' already exists" in exc.value.error_message


def test_last_commit_id_guard(world):
    pid = world.project.id
    stale = api(
        world,
        "POST",
        f"/projects/{pid}/repository/commits",
        "maintainer",
        json={
            "branch": "main",
            "commit_message": "m",
            "actions": [
                {
                    "action": "update",
                    "file_path": "README.md",
                    "content": "x",
                    "last_commit_id": "0" * 40,
                }
            ],
        },
    )
    assert stale.json() == {
        "message": "The file has changed since you started editing it: README.md"
    }


def test_single_file_endpoints(world):
    project = world.api("developer")
    project.branches.create({"branch": "docs", "ref": "main"})
    project.files.create(
        {"file_path": "docs/new.md", "branch": "docs", "content": "hello", "commit_message": "add"}
    )
    assert world.sim.read_file(world.project, "docs/new.md", "docs") == b"hello"
    f = project.files.get("docs/new.md", ref="docs")
    f.content = "changed"
    f.save(branch="docs", commit_message="change")
    assert world.sim.read_file(world.project, "docs/new.md", "docs") == b"changed"


def test_empty_repository_accepts_a_first_commit(world):
    empty = world.sim.add_project("acme/empty", files={}, members={world.users["maintainer"]: 40})
    project = world.gl().projects.get(empty.id)
    assert project.empty_repo is True
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "init",
            "actions": [{"action": "create", "file_path": "a", "content": "a"}],
        }
    )
    assert world.sim.read_file(empty, "a") == b"a"
    assert world.gl().projects.get(empty.id).empty_repo is False


def test_default_branch_and_files_per_branch_as_image_selection_reads_them(world):
    """GET /projects/:id names the default branch and the files API answers per ref: what the
    devcontainer read relies on (THREATS T37)."""
    sim, maria = world.sim, world.users["maintainer"]
    project = sim.add_project("acme/trunky", default_branch="trunk", members={maria: 40})
    sim.commit_files(project, "trunk", {".devcontainer.json": '{"image": "good:1"}'})
    sim.commit_files(project, "feature/x", {".devcontainer.json": '{"image": "evil:1"}'})
    gl = world.gl()
    assert gl.projects.get(project.id).default_branch == "trunk"
    files = gl.projects.get(project.id, lazy=True).files
    assert files.get(".devcontainer.json", ref="trunk").decode() == b'{"image": "good:1"}'
    assert files.get(".devcontainer.json", ref="feature/x").decode() == b'{"image": "evil:1"}'
    with pytest.raises(gitlab.GitlabGetError) as missing:
        files.get(".devcontainer.json", ref="no-such-branch")
    assert missing.value.response_code == 404
