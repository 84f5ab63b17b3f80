"""The write tools against the simulator, with their scope rules (SPEC §7.3; T11, T28)."""

from __future__ import annotations

import pytest

from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db

PUSH = ("read", "push_branch")


def call(world, token, name, **arguments):
    response = world.client(token).post(f"/tools/{name}", arguments, format="json")
    return response.status_code, response.json()


def commit(world, token, branch, files, **extra):
    actions = [{"action": a, "file_path": p, "content": c} for p, (a, c) in files.items()]
    return call(
        world,
        token,
        "commit_files",
        branch=branch,
        message="Agent change",
        actions=actions,
        **extra,
    )


def refs(world) -> dict[str, str]:
    return world.sim.repo(world.project).branches()


# -- notes ---------------------------------------------------------------------------------
def test_create_issue_note_is_posted_with_the_jobs_key(world):
    job, token = world.job(("comment",))
    status, body = call(world, token, "create_issue_note", body="I am on it.")
    assert status == 200
    notes = world.sim.issue(world.project, 1).notes
    assert [n.body for n in notes] == ["I am on it."]
    author = world.sim.user(notes[0].author_id)
    assert author is world.key_user(job)
    assert author.bot and author.username.startswith(f"project_{world.project.id}_bot_")
    assert body["result"]["id"] == notes[0].id


def test_create_issue_note_with_the_bot_pat_fallback_is_authored_by_the_bot(world):
    _, token = world.job(("comment",), mint_key=False)
    assert call(world, token, "create_issue_note", iid=2, body="Noted.")[0] == 200
    note = world.sim.issue(world.project, 2).notes[-1]
    assert world.sim.user(note.author_id).username == "mate-bot"


def test_create_merge_request_note(world):
    _, token = world.job(("comment",), kind="merge_request")
    assert call(world, token, "create_merge_request_note", body="Reviewed.")[0] == 200
    assert [n.body for n in world.sim.merge_request(world.project, 1).notes] == ["Reviewed."]


def test_note_size_is_limited(world):
    _, token = world.job(("comment",))
    status, body = call(world, token, "create_issue_note", body="x" * 65_537)
    assert (status, body["error"]["category"]) == (400, "validation")
    assert not world.sim.issue(world.project, 1).notes


# -- branches ------------------------------------------------------------------------------
def test_create_branch_from_the_default_branch(world):
    _, token = world.job(PUSH)
    status, body = call(world, token, "create_branch", branch="mate/fix-login")
    assert status == 200
    assert refs(world)["mate/fix-login"] == refs(world)["main"] == body["result"]["commit"]


def test_create_branch_from_a_ref_and_conflict(world):
    _, token = world.job(PUSH)
    assert call(world, token, "create_branch", branch="mate/x", ref="feature/login")[0] == 200
    assert refs(world)["mate/x"] == refs(world)["feature/login"]
    status, body = call(world, token, "create_branch", branch="mate/x")
    assert (status, body["error"]["category"]) == (409, "conflict")


@pytest.mark.parametrize("branch", ["main", "release/2.0", "stable"])
def test_create_branch_refuses_default_and_protected_names(world, branch):
    job, token = world.job(PUSH)
    before = refs(world)
    status, body = call(world, token, "create_branch", branch=branch)
    assert (status, body["error"]["category"]) == (403, "permission")
    assert refs(world) == before
    assert not world.sim.requests_to("POST", "/repository/branches")
    row = ToolCall.objects.get(job=job, tool="create_branch")
    assert row.outcome == "denied" and branch in row.denial_reason


# -- commits -------------------------------------------------------------------------------
def test_commit_files_to_a_new_branch(world):
    _, token = world.job(PUSH)
    status, body = commit(
        world,
        token,
        "mate/feature",
        {"src/app.py": ("update", "def main():\n    return 3\n"), "NEW.md": ("create", "hi\n")},
        start_branch="main",
    )
    assert status == 200, body
    assert body["result"]["id"] == refs(world)["mate/feature"]
    assert world.sim.read_file(world.project, "src/app.py", "mate/feature").endswith(b"3\n")
    assert world.sim.read_file(world.project, "NEW.md", "mate/feature") == b"hi\n"
    assert world.sim.read_file(world.project, "NEW.md", "main") is None


def test_commit_files_base64_delete_and_move(world):
    _, token = world.job(PUSH)
    actions = [
        {"action": "create", "file_path": "bin.dat", "content": "AAEC/w==", "encoding": "base64"},
        {"action": "delete", "file_path": "README.md"},
        {"action": "move", "file_path": "lib/app.py", "previous_path": "src/app.py"},
    ]
    status, body = call(
        world, token, "commit_files", branch="feature/login", message="Move", actions=actions
    )
    assert status == 200, body
    assert world.sim.read_file(world.project, "bin.dat", "feature/login") == b"\x00\x01\x02\xff"
    assert world.sim.read_file(world.project, "README.md", "feature/login") is None
    assert world.sim.read_file(world.project, "lib/app.py", "feature/login") is not None


@pytest.mark.parametrize(
    ("branch", "why"),
    [("main", "default branch"), ("stable", "protected"), ("release/1.0", "protected")],
)
def test_commit_to_default_or_protected_branch_is_refused_without_a_ref_change(world, branch, why):
    job, token = world.job(("read", "push_branch", "push_mr_branch", "touch_ci"))
    before = refs(world)
    status, body = commit(world, token, branch, {"README.md": ("update", "hacked\n")})
    assert (status, body["error"]["category"]) == (403, "permission")
    assert refs(world) == before
    assert not world.sim.requests_to("POST", "/repository/commits")
    assert why in ToolCall.objects.get(job=job).denial_reason


def test_default_branch_refusal_holds_for_the_mr_source_branch_too(world):
    """An MR whose source is the default branch does not open it to push_mr_branch."""
    mr = world.sim.add_merge_request(world.project, "main", "stable", author=world.human)
    _, token = world.job(("read", "push_mr_branch"), kind="merge_request", iid=mr.iid)
    before = refs(world)
    assert commit(world, token, "main", {"README.md": ("update", "x\n")})[0] == 403
    assert refs(world) == before


def test_push_mr_branch_commits_only_to_the_jobs_mr_source_branch(world):
    _, token = world.job(("read", "push_mr_branch"), kind="merge_request")
    status, body = commit(world, token, "feature/login", {"src/app.py": ("update", "fixed\n")})
    assert status == 200, body
    assert world.sim.read_file(world.project, "src/app.py", "feature/login") == b"fixed\n"
    before = refs(world)
    for branch, extra in (("mate/other", {"start_branch": "main"}), ("stable", {})):
        status, body = commit(world, token, branch, {"x.md": ("create", "x\n")}, **extra)
        assert (status, body["error"]["category"]) == (403, "permission")
    assert refs(world) == before


def test_push_mr_branch_on_an_issue_job_cannot_commit_anywhere(world):
    _, token = world.job(("read", "push_mr_branch"))
    before = refs(world)
    assert commit(world, token, "feature/login", {"x.md": ("create", "x\n")})[0] == 403
    assert refs(world) == before


@pytest.mark.parametrize(
    "path",
    [
        ".gitlab-ci.yml",
        "./.gitlab-ci.yml",
        ".gitlab/ci/build.yml",
        ".gitlab/ci/new/deploy.yml",
        "ci/pipeline.yml",
        "src/../.gitlab-ci.yml",
    ],
)
def test_ci_files_need_touch_ci(world, path):
    job, token = world.job(PUSH)
    before = refs(world)
    status, body = commit(world, token, "feature/login", {path: ("update", "evil: true\n")})
    assert (status, body["error"]["category"]) == (403, "permission")
    assert "touch_ci" in body["error"]["message"]
    assert refs(world) == before
    assert ToolCall.objects.get(job=job).outcome == "denied"


def test_moving_a_ci_file_away_needs_touch_ci(world):
    _, token = world.job(PUSH)
    actions = [{"action": "move", "file_path": "old-ci.yml", "previous_path": ".gitlab-ci.yml"}]
    status, _ = call(
        world, token, "commit_files", branch="feature/login", message="m", actions=actions
    )
    assert status == 403


def test_touch_ci_allows_ci_files(world):
    _, token = world.job(PUSH + ("touch_ci",))
    status, body = commit(world, token, "feature/login", {".gitlab-ci.yml": ("update", "ok: 1\n")})
    assert status == 200, body
    assert world.sim.read_file(world.project, ".gitlab-ci.yml", "feature/login") == b"ok: 1\n"


def test_commit_sizes_are_limited(world):
    _, token = world.job(PUSH)
    before = refs(world)
    status, body = commit(world, token, "feature/login", {"big.txt": ("create", "x" * 1_100_000)})
    assert (status, body["error"]["category"]) == (400, "validation")
    too_many = [{"action": "create", "file_path": f"f{n}.txt", "content": "x"} for n in range(101)]
    status, _ = call(
        world, token, "commit_files", branch="feature/login", message="m", actions=too_many
    )
    assert status == 400
    assert refs(world) == before


def test_commit_to_a_missing_branch_without_start_branch_is_a_validation_error(world):
    _, token = world.job(PUSH)
    status, body = commit(world, token, "mate/nowhere", {"a.md": ("create", "a\n")})
    assert (status, body["error"]["category"]) == (400, "validation")


# -- merge requests ------------------------------------------------------------------------
def test_create_merge_request_is_a_draft_unless_asked(world):
    _, token = world.job(("read", "push_branch", "open_mr"))
    for branch in ("mate/a", "mate/b"):
        assert call(world, token, "create_branch", branch=branch)[0] == 200
    status, body = call(world, token, "create_merge_request", source_branch="mate/a", title="Add a")
    assert status == 200, body
    created = world.sim.merge_request(world.project, body["result"]["iid"])
    assert created.draft and created.title == "Draft: Add a"
    assert created.target_branch == "main"
    status, body = call(
        world,
        token,
        "create_merge_request",
        source_branch="mate/b",
        title="Add b",
        draft=False,
        description="Why: because",
        target_branch="stable",
    )
    created = world.sim.merge_request(world.project, body["result"]["iid"])
    assert not created.draft and created.title == "Add b"
    assert (created.target_branch, created.description) == ("stable", "Why: because")


def test_merge_merge_request(world):
    _, token = world.job(("read", "merge"), kind="merge_request")
    status, body = call(world, token, "merge_merge_request")
    assert status == 200, body
    assert body["result"]["state"] == "merged"
    assert world.sim.merge_request(world.project, 1).state == "merged"
    assert world.sim.read_file(world.project, "src/app.py", "main").endswith(b"2\n")


def test_merge_refused_by_gitlab_is_a_conflict_and_changes_nothing(world):
    world.sim.project(world.project).only_allow_merge_if_pipeline_succeeds = True
    _, token = world.job(("read", "merge"), kind="merge_request")
    before = refs(world)
    status, body = call(world, token, "merge_merge_request")
    assert (status, body["error"]["category"]) == (409, "conflict")
    assert world.sim.merge_request(world.project, 1).state == "opened"
    assert refs(world) == before


def test_merge_with_a_stale_sha_is_a_conflict(world):
    _, token = world.job(("read", "merge"), kind="merge_request")
    status, body = call(world, token, "merge_merge_request", sha="0" * 40)
    assert (status, body["error"]["category"]) == (409, "conflict")
