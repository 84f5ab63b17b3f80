"""Hidden refs (merge request heads, pipelines, keep-around), a commit's containing refs, tags,
and the project's CI/CD configuration path, as GitLab has them."""

from __future__ import annotations

import subprocess

import gitlab
import pytest
import requests

from tests.gitlab_sim import MAINTAINER

EVIL_CI = "steal:\n  script: env\n"


def api(world, method, path, who="maintainer", **kwargs):
    headers = {"PRIVATE-TOKEN": world.tokens[who]}
    return requests.request(
        method, f"{world.sim.api_url}{path}", headers=headers, timeout=10, **kwargs
    )


@pytest.fixture
def fork_mr(world):
    """Olga forks acme/widgets and opens an MR whose branch rewrites .gitlab-ci.yml."""
    sim = world.sim
    olga = world.users["outsider"]
    fork = sim.add_project("olga/widgets", fork_of=world.project, members={olga: MAINTAINER})
    sha = sim.commit_files(
        fork, "evil", {".gitlab-ci.yml": EVIL_CI}, "CI", author=olga, start_branch="main"
    )
    mr = sim.add_merge_request(world.project, "evil", "main", author=olga, source_project=fork)
    return fork, mr, sha


def hidden(world, ref: str) -> str | None:
    return world.sim.repo(world.project).resolve(ref)


def test_a_fork_mr_head_is_reachable_in_the_target_project(world, fork_mr):
    fork, mr, sha = fork_mr
    assert hidden(world, f"refs/merge-requests/{mr.iid}/head") == sha
    assert hidden(world, f"refs/keep-around/{sha}") == sha
    assert sha not in world.sim.repo(world.project).branches().values()
    refs = api(world, "GET", f"/projects/{world.project.id}/repository/commits/{sha}/refs")
    assert (refs.status_code, refs.json()) == (200, [])  # contained in no branch or tag


def test_a_push_to_the_fork_branch_moves_the_mr_head(world, fork_mr):
    fork, mr, _ = fork_mr
    newer = world.sim.commit_files(fork, "evil", {"x.txt": "x\n"}, "more")
    assert hidden(world, f"refs/merge-requests/{mr.iid}/head") == newer


def test_a_git_push_to_a_same_project_mr_branch_moves_the_mr_head(world, tmp_path):
    sim = world.sim
    sim.commit_files(world.project, "topic", {"a.txt": "a\n"}, "a", start_branch="main")
    mr = sim.add_merge_request(world.project, "topic", "main", author=world.users["developer"])
    work = tmp_path / "clone"
    url = sim.clone_url(world.project, world.tokens["developer"])
    git = ["git", "-c", "user.name=d", "-c", "user.email=d@x"]
    subprocess.run(git + ["clone", "-q", "-b", "topic", url, str(work)], check=True)
    (work / "b.txt").write_text("b\n")
    subprocess.run(git + ["-C", str(work), "add", "b.txt"], check=True)
    subprocess.run(git + ["-C", str(work), "commit", "-qm", "b"], check=True)
    subprocess.run(git + ["-C", str(work), "push", "-q", "origin", "topic"], check=True)
    assert hidden(world, f"refs/merge-requests/{mr.iid}/head") == sim.branch_sha(
        world.project, "topic"
    )


def test_pipelines_get_a_persistent_ref(world):
    pipeline = world.sim.add_pipeline(world.project, "main")
    assert hidden(world, f"refs/pipelines/{pipeline.id}") == pipeline.sha


@pytest.mark.parametrize("ref", ["refs/merge-requests/{iid}/head", "refs/keep-around/{sha}"])
def test_create_branch_from_a_hidden_ref_works_as_on_gitlab(world, fork_mr, ref):
    """Branches::CreateService hands ``ref`` to Gitaly as a revision: any ref resolves."""
    _, mr, sha = fork_mr
    branch = world.api().branches.create(
        {"branch": "pulled", "ref": ref.format(iid=mr.iid, sha=sha)}
    )
    assert branch.commit["id"] == sha
    assert world.sim.read_file(world.project, ".gitlab-ci.yml", "pulled").decode() == EVIL_CI


def test_commit_refs_lists_containing_branches_then_tags(world):
    sim, project = world.sim, world.project
    base = sim.branch_sha(project, "main")
    sim.create_branch(project, "feature")
    ahead = sim.commit_files(project, "feature", {"f.txt": "f\n"}, "f")
    sim.create_tag(project, "v1.0", "main")
    pid = project.id
    every = api(world, "GET", f"/projects/{pid}/repository/commits/{base}/refs").json()
    assert every == [
        {"type": "branch", "name": "feature"},
        {"type": "branch", "name": "main"},
        {"type": "tag", "name": "v1.0"},
    ]
    branches = world.api().commits.get(ahead, lazy=True).refs(type="branch")
    assert branches == [{"type": "branch", "name": "feature"}]
    tags = api(world, "GET", f"/projects/{pid}/repository/commits/{base}/refs?type=tag").json()
    assert tags == [{"type": "tag", "name": "v1.0"}]
    page = api(world, "GET", f"/projects/{pid}/repository/commits/{base}/refs?per_page=1")
    assert "X-Total" not in page.headers and 'rel="last"' not in page.headers["Link"]
    assert page.headers["X-Next-Page"] == "2"
    missing = api(world, "GET", f"/projects/{pid}/repository/commits/{'0' * 40}/refs")
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Commit Not Found"})


def test_tags_api(world):
    sha = world.sim.create_tag(world.project, "v2", "main")
    tag = world.api().tags.get("v2")
    assert (tag.name, tag.commit["id"]) == ("v2", sha)
    with pytest.raises(gitlab.exceptions.GitlabGetError) as caught:
        world.api().tags.get("v9")
    assert caught.value.response_code == 404


@pytest.mark.parametrize(
    "value",
    [
        "ci/pipeline.yml",
        "ci/pipeline.yml@acme/widgets",
        "ci/pipeline.yml@acme/widgets:stable",
        "templates/.gitlab-ci.yml@platform/ci-templates",
        "https://example.com/generate/ci/config.yml",
        "",
    ],
)
def test_ci_config_path_forms_are_stored_and_read_back(world, value):
    project = world.api()
    project.ci_config_path = value
    project.save()
    assert world.gl().projects.get(world.project.id).ci_config_path == value
    assert world.sim.project(world.project).ci_config_path == value


@pytest.mark.parametrize("value", ["/abs.yml", "ci/../x.yml", "x" * 256])
def test_ci_config_path_validation(world, value):
    response = api(world, "PUT", f"/projects/{world.project.id}", json={"ci_config_path": value})
    assert response.status_code == 400
    assert list(response.json()["message"]) == ["ci_config_path"]
    assert world.sim.project(world.project).ci_config_path is None


def test_ci_config_path_needs_maintainer_to_change_and_code_access_to_read(world):
    world.sim.set_ci_config_path(world.project, "ci/pipeline.yml")
    pid = world.project.id
    response = api(world, "PUT", f"/projects/{pid}", "developer", json={"ci_config_path": ""})
    assert response.status_code == 403
    assert api(world, "GET", f"/projects/{pid}", "developer").json()["ci_config_path"] == (
        "ci/pipeline.yml"
    )
    assert "ci_config_path" not in api(world, "GET", f"/projects/{pid}", "guest").json()
