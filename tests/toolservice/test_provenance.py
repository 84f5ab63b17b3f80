"""Where writes may come from and what a job may merge (toolservice.provenance, SPEC §7.3;
T33), and the one reading of the project's CI config path (scope.ci_config_files)."""

from __future__ import annotations

import pytest

from tests.tenants.factories import UserFactory
from toolservice import scope
from toolservice.models import CreatedByJob

pytestmark = pytest.mark.django_db

OPEN = ("read", "push_branch", "open_mr")


def call(world, token, name, **arguments):
    response = world.client(token).post(f"/tools/{name}", arguments, format="json")
    return response.status_code, response.json()


def refs(world) -> dict[str, str]:
    return world.sim.repo(world.project).branches()


def open_mr(world, token, source, **extra):
    return call(world, token, "create_merge_request", source_branch=source, title="t", **extra)


# -- create_merge_request -------------------------------------------------------------------
def test_mr_source_must_be_a_branch_the_job_created(world):
    world.sim.create_branch(world.project, "alice/wip")
    job, token = world.job(OPEN)
    status, body = open_mr(world, token, "alice/wip")
    assert (status, body["error"]["category"]) == (403, "permission")
    assert "a branch this job created" in body["error"]["message"]
    assert not world.sim.requests_to("POST", "/merge_requests")
    assert call(world, token, "create_branch", branch="mate/fix")[0] == 200
    status, body = open_mr(world, token, "mate/fix")
    assert status == 200, body
    rows = CreatedByJob.objects.filter(job=job).values_list("kind", "branch", "iid")
    assert sorted(rows, key=str) == sorted(
        [("branch", "mate/fix", None), ("merge_request", "", body["result"]["iid"])], key=str
    )


def test_a_branch_made_by_commit_files_with_start_branch_counts_as_created(world):
    _, token = world.job(OPEN)
    actions = [{"action": "create", "file_path": "n.md", "content": "n\n"}]
    status, body = call(
        world, token, "commit_files", branch="mate/n", message="n", actions=actions,
        start_branch="main",
    )  # fmt: skip
    assert status == 200, body
    assert open_mr(world, token, "mate/n")[0] == 200


def test_committing_to_an_existing_branch_does_not_make_it_the_jobs(world):
    world.sim.create_branch(world.project, "alice/wip")
    _, token = world.job(OPEN)
    actions = [{"action": "create", "file_path": "n.md", "content": "n\n"}]
    status, _ = call(world, token, "commit_files", branch="alice/wip", message="n", actions=actions)
    assert status == 200
    assert open_mr(world, token, "alice/wip")[0] == 403


def test_the_jobs_mr_source_branch_may_be_the_source(world):
    _, token = world.job(("read", "open_mr"), kind="merge_request")
    status, body = open_mr(world, token, "feature/login", target_branch="stable")
    assert status == 200, body


def test_mr_target_may_not_be_another_users_branch(world):
    _, token = world.job(OPEN)
    assert call(world, token, "create_branch", branch="mate/fix")[0] == 200
    assert call(world, token, "create_branch", branch="mate/base")[0] == 200
    status, body = open_mr(world, token, "mate/fix", target_branch="feature/login")
    assert (status, body["error"]["category"]) == (403, "permission")
    assert "another user's branch" in body["error"]["message"]
    assert not world.sim.requests_to("POST", "/merge_requests")
    for target in ("mate/base", "release/1.0", "main"):
        status, body = open_mr(world, token, "mate/fix", target_branch=target)
        assert status == 200, (target, body)
        world.sim.merge_request(world.project, body["result"]["iid"]).state = "closed"


def test_created_records_belong_to_their_job(world):
    _, one = world.job(OPEN)
    _, two = world.job(OPEN)
    assert call(world, one, "create_branch", branch="mate/one")[0] == 200
    assert open_mr(world, two, "mate/one")[0] == 403


# -- create_branch and start_branch ---------------------------------------------------------
@pytest.mark.parametrize("ref", ["refs/merge-requests/1/head", "HEAD", "main~1", "no-such"])
def test_create_branch_refuses_hidden_refs_and_revision_expressions(world, ref):
    _, token = world.job(("read", "push_branch"))
    before = refs(world)
    status, body = call(world, token, "create_branch", branch="mate/x", ref=ref)
    assert status in (403, 404), body
    assert body["error"]["category"] in ("permission", "not_found")
    assert refs(world) == before


def test_start_branch_must_be_a_branch(world):
    _, token = world.job(("read", "push_branch"))
    before = refs(world)
    actions = [{"action": "create", "file_path": "n.md", "content": "n\n"}]
    status, body = call(
        world, token, "commit_files", branch="mate/n", message="n", actions=actions,
        start_branch="refs/merge-requests/1/head",
    )  # fmt: skip
    assert (status, body["error"]["category"]) == (404, "not_found")
    assert refs(world) == before


# -- merge_merge_request --------------------------------------------------------------------
def test_an_mr_the_job_opened_may_be_merged(world):
    _, token = world.job(OPEN + ("merge",))
    assert call(world, token, "create_branch", branch="mate/fix")[0] == 200
    actions = [{"action": "create", "file_path": "fix.md", "content": "fixed\n"}]
    assert call(
        world, token, "commit_files", branch="mate/fix", message="f", actions=actions
    )[0] == 200  # fmt: skip
    status, body = open_mr(world, token, "mate/fix", draft=False)
    assert status == 200, body
    status, body = call(world, token, "merge_merge_request", iid=body["result"]["iid"])
    assert status == 200, body
    assert world.sim.read_file(world.project, "fix.md", "main") == b"fixed\n"


def test_the_merge_is_pinned_to_the_checked_head(world):
    _, token = world.job(("read", "merge"), kind="merge_request")
    head = world.sim.branch_sha(world.project, "feature/login")
    assert call(world, token, "merge_merge_request", sha=head[:10])[0] == 200
    (put,) = world.sim.requests_to("PUT", "/merge")
    assert put.body["sha"] == head


def test_a_merge_by_iid_of_the_jobs_own_mr_needs_no_record(world):
    _, token = world.job(("read", "merge"), kind="merge_request")
    assert call(world, token, "merge_merge_request", iid=world.mr.iid)[0] == 200


# -- the CI config path ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, {".gitlab-ci.yml"}),
        ("", {".gitlab-ci.yml"}),
        ("ci/main.yml", {".gitlab-ci.yml", "ci/main.yml"}),
        ("./ci/main.yml", {".gitlab-ci.yml", "ci/main.yml"}),
        ("ci/main.yml@acme/widget", {".gitlab-ci.yml", "ci/main.yml", "ci/main.yml@acme/widget"}),
        (
            "ci/main.yaml@Acme/Widget:v2",
            {".gitlab-ci.yml", "ci/main.yaml", "ci/main.yaml@Acme/Widget:v2"},
        ),
        # another project's file is not ours; the verbatim value still is (Repository first)
        ("ci/main.yml@other/secret", {".gitlab-ci.yml", "ci/main.yml@other/secret"}),
        (
            "ci/main.yml@other/secret:acme/widget",
            {".gitlab-ci.yml", "ci/main.yml@other/secret:acme/widget"},
        ),
        # not the external-project form (no yml/yaml before the @): a local file name
        ("ci/config@acme/widget", {".gitlab-ci.yml", "ci/config@acme/widget"}),
        ("https://example.com/ci.yml", {".gitlab-ci.yml"}),
    ],
)
def test_ci_config_files_reads_every_form(setting, expected):
    assert scope.ci_config_files(setting, "acme/widget") == expected


def test_another_projects_ci_file_is_not_this_projects(world):
    world.sim.set_ci_config_path(world.project, "ci/remote.yml@other/secret")
    _, token = world.job(("read", "push_branch"))
    actions = [{"action": "create", "file_path": "ci/remote.yml", "content": "x: 1\n"}]
    status, body = call(
        world, token, "commit_files", branch="feature/login", message="m", actions=actions
    )
    assert status == 200, body
    actions = [{"action": "create", "file_path": "ci/remote.yml@other/secret", "content": "x\n"}]
    status, body = call(
        world, token, "commit_files", branch="feature/login", message="m", actions=actions
    )
    assert (status, body["error"]["category"]) == (403, "permission")


def test_admin_lists_created_objects_read_only(world, client):
    _, token = world.job(OPEN)
    assert call(world, token, "create_branch", branch="mate/shown")[0] == 200
    row = CreatedByJob.objects.get()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get("/admin/toolservice/createdbyjob/")
    assert listing.status_code == 200 and b"mate/shown" in listing.content
    detail = client.get(f"/admin/toolservice/createdbyjob/{row.pk}/change/")
    assert detail.status_code == 200 and b'name="branch"' not in detail.content
    assert client.get("/admin/toolservice/createdbyjob/add/").status_code == 403
    assert client.post(f"/admin/toolservice/createdbyjob/{row.pk}/delete/").status_code == 403
