"""The read tools against the simulator: what comes back and what GitLab saw (SPEC §7.4)."""

from __future__ import annotations

import base64

import pytest

from tests.toolservice.conftest import FAILED_LOG
from toolservice.tools import issues, merge_requests, repository
from toolservice.tools import pipelines as pipeline_tools

pytestmark = pytest.mark.django_db


def call(world, token, name, **arguments):
    response = world.client(token).post(f"/tools/{name}", arguments, format="json")
    return response.status_code, response.json()


def api_paths(world) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in world.sim.requests if "/access_tokens" not in r.path]


def test_get_issue_defaults_to_the_jobs_issue(world):
    job, token = world.job(("read",))
    status, body = call(world, token, "get_issue")
    assert status == 200
    issue = body["result"]
    assert issue["iid"] == world.issue.iid
    assert issue["title"] == "Login is broken"
    assert issue["description"] == "Steps: open /login"
    assert issue["author"] == "alice"
    assert api_paths(world) == [("GET", f"/api/v4/projects/{world.project.id}/issues/1")]
    # the key the tool service used is the job's own key, not the bot PAT
    assert {r.username for r in world.sim.requests_to("GET", "/issues/1")} == {
        world.key_user(job).username
    }


def test_get_issue_by_iid_and_not_found(world):
    _, token = world.job(("read",))
    assert call(world, token, "get_issue", iid=2)[1]["result"]["title"] == "Second issue"
    status, body = call(world, token, "get_issue", iid=99)
    assert status == 404
    assert body["error"]["category"] == "not_found"


def test_issue_tool_without_iid_on_a_pipeline_job_asks_for_one(world):
    _, token = world.job(("read",), kind="pipeline", pipeline_id=world.pipeline.id)
    status, body = call(world, token, "get_issue")
    assert status == 400
    assert "iid is required" in body["error"]["message"]
    assert api_paths(world) == []


def test_list_issue_notes(world):
    world.sim.post_note(world.project, "issue", 1, "first", world.human)
    world.sim.post_note(world.project, "issue", 1, "second", world.human)
    _, token = world.job(("read",))
    notes = call(world, token, "list_issue_notes")[1]["result"]["notes"]
    assert [(n["author"], n["body"]) for n in notes] == [("alice", "first"), ("alice", "second")]


def test_get_merge_request_defaults_to_the_jobs_mr(world):
    _, token = world.job(("read",), kind="merge_request")
    mr = call(world, token, "get_merge_request")[1]["result"]
    assert (mr["iid"], mr["source_branch"], mr["target_branch"]) == (1, "feature/login", "main")
    assert mr["author"] == "alice"
    assert mr["from_fork"] is False
    assert mr["head_pipeline"]["status"] == "failed"


def test_get_merge_request_diff(world):
    _, token = world.job(("read",), kind="merge_request")
    result = call(world, token, "get_merge_request_diff")[1]["result"]
    assert [f["new_path"] for f in result["files"]] == ["src/app.py"]
    assert "+    return 2" in result["files"][0]["diff"]
    assert result["truncated"] is False


def test_get_merge_request_diff_is_size_capped(world, monkeypatch):
    files = {f"docs/page{n}.md": f"line {n}\n" * 40 for n in range(5)}
    world.sim.commit_files(world.project, "feature/login", files, "Docs")
    monkeypatch.setattr(merge_requests, "DIFF_MAX_CHARS", 1200)
    _, token = world.job(("read",), kind="merge_request")
    result = call(world, token, "get_merge_request_diff")[1]["result"]
    assert result["truncated"] is True
    assert sum(len(f["diff"]) for f in result["files"]) <= 1200
    assert result["omitted_files"] and "diff" not in result["omitted_files"][0]
    assert len(result["files"]) + len(result["omitted_files"]) == 6


def test_list_merge_request_notes(world):
    world.sim.post_note(world.project, "merge_request", 1, "please review", world.human)
    _, token = world.job(("read",), kind="merge_request")
    notes = call(world, token, "list_merge_request_notes")[1]["result"]["notes"]
    assert [n["body"] for n in notes] == ["please review"]


def test_get_file_text_binary_and_missing(world):
    world.sim.commit_files(world.project, "main", {"logo.png": b"\x89PNG\x00\xff"}, "logo")
    _, token = world.job(("read",))
    result = call(world, token, "get_file", path="src/app.py")[1]["result"]
    assert result["content"] == "def main():\n    return 1\n"
    assert (result["encoding"], result["ref"]) == ("text", "main")
    on_branch = call(world, token, "get_file", path="src/app.py", ref="feature/login")[1]
    assert "return 2" in on_branch["result"]["content"]
    binary = call(world, token, "get_file", path="logo.png")[1]["result"]
    assert binary["encoding"] == "base64"
    assert base64.b64decode(binary["content"]) == b"\x89PNG\x00\xff"
    status, body = call(world, token, "get_file", path="nope.txt")
    assert (status, body["error"]["category"]) == (404, "not_found")


def test_get_file_path_cannot_leave_the_project(world):
    _, token = world.job(("read",))
    status, _ = call(world, token, "get_file", path="../../other/secret/README.md")
    assert status == 404
    assert world.foreign_requests() == []
    files = world.sim.requests_to("GET", "/repository/files/")
    assert all(r.path.startswith(f"/api/v4/projects/{world.project.id}/") for r in files)


def test_list_tree(world):
    _, token = world.job(("read",))
    root = call(world, token, "list_tree")[1]["result"]
    names = {e["path"] for e in root["entries"]}
    assert {"README.md", "src", ".gitlab-ci.yml"} <= names
    deep = call(world, token, "list_tree", recursive=True)[1]["result"]
    assert ".gitlab/ci/build.yml" in {e["path"] for e in deep["entries"]}
    src = call(world, token, "list_tree", path="src")[1]["result"]
    assert [e["path"] for e in src["entries"]] == ["src/app.py"]


def test_get_pipeline_defaults_to_the_jobs_pipeline(world):
    _, token = world.job(("read",), kind="pipeline", pipeline_id=world.pipeline.id)
    result = call(world, token, "get_pipeline")[1]["result"]
    assert (result["id"], result["status"], result["ref"]) == (
        world.pipeline.id,
        "failed",
        "feature/login",
    )
    jobs = {j["name"]: j for j in result["jobs"]}
    assert jobs["test"]["status"] == "failed"
    assert jobs["test"]["failure_reason"] == "script_failure"
    assert jobs["lint"]["status"] == "success"


def test_get_job_log_tail(world):
    _, token = world.job(("read",))
    result = call(world, token, "get_job_log", job_id=world.failed_job.id, tail_lines=3)[1]
    assert result["result"]["log"] == "step 299\nstep 300\nFAILED tests/test_app.py"
    assert result["result"]["truncated"] is True
    default = call(world, token, "get_job_log", job_id=world.failed_job.id)[1]["result"]
    assert default["lines"] == 200
    assert default["log"].splitlines() == FAILED_LOG.splitlines()[-200:]


def test_get_job_log_masks_token_shapes(world):
    log = "export TOKEN=glpat-abcdefghijklmnopqrstu\ndone\n"
    pipeline = world.sim.add_pipeline(
        world.project, "main", jobs=[{"name": "leak", "status": "failed", "log": log}]
    )
    _, token = world.job(("read",))
    result = call(world, token, "get_job_log", job_id=pipeline.jobs[0].id)[1]["result"]
    assert "abcdefghijklmnopqrstu" not in result["log"]
    assert "glpat-[REDACTED]" in result["log"]


def test_get_file_over_the_cap_is_refused_naming_it(world, monkeypatch):
    monkeypatch.setattr(repository, "GET_FILE_MAX_BYTES", 1000)
    world.sim.commit_files(world.project, "main", {"big.txt": "y" * 1001}, "big")
    _, token = world.job(("read",))
    status, body = call(world, token, "get_file", path="big.txt")
    assert (status, body["error"]["category"]) == (400, "validation")
    assert body["error"]["message"].startswith("the file has 1001 bytes; get_file reads files")
    assert "at most 1000 bytes" in body["error"]["message"]
    # HEAD only: the content was never asked for
    assert [r.method for r in world.sim.requests if "/repository/files/" in r.path] == ["HEAD"]
    at_cap = call(world, token, "get_file", path="README.md")[1]["result"]
    assert at_cap["content"] == "# widget\n" and at_cap["size"] == 9


def test_get_file_reads_the_commit_head_measured(world):
    _, token = world.job(("read",))
    call(world, token, "get_file", path="src/app.py", ref="main")
    head, raw = [r for r in world.sim.requests if "/repository/files/" in r.path]
    assert (head.method, head.query["ref"]) == ("HEAD", "main")
    assert raw.path.endswith("/raw") and raw.query["ref"] == world.sim.branch_sha(
        world.project, "main"
    )


def test_get_job_log_tail_of_a_streamed_trace_across_chunks(world):
    lines = [f"{n:06d} " + "é" * (n % 7) + "x" * 20 for n in range(100_000)]  # 3 MB: chunked
    log = "\r\n".join(lines)  # CRLF, and no newline at the end
    pipeline = world.sim.add_pipeline(
        world.project, "main", jobs=[{"name": "big", "status": "failed", "log": log}]
    )
    _, token = world.job(("read",))
    job_id = pipeline.jobs[0].id
    result = call(world, token, "get_job_log", job_id=job_id, tail_lines=4)[1]["result"]
    assert result["log"].split("\n") == lines[-4:]
    assert (result["lines"], result["truncated"]) == (4, True)
    most = call(world, token, "get_job_log", job_id=job_id, tail_lines=5000)[1]["result"]
    assert len(most["log"]) == pipeline_tools.LOG_MAX_CHARS and most["truncated"] is True
    assert ("\n".join(lines)).endswith(most["log"])


def test_notes_are_read_a_bounded_page_at_a_time(world):
    for n in range(25):
        world.sim.post_note(world.project, "issue", 1, f"note {n}", world.human)
    _, token = world.job(("read",))
    notes = call(world, token, "list_issue_notes")[1]["result"]["notes"]
    assert [n["body"] for n in notes] == [f"note {n}" for n in range(25)]
    pages = [r.query for r in world.sim.requests if r.path.endswith("/notes")]
    assert [p["per_page"] for p in pages] == [str(issues.NOTES_PAGE)] * 2


def test_list_tree_stops_at_its_page_cap(world, monkeypatch):
    monkeypatch.setattr(repository, "TREE_PAGE", 2)
    monkeypatch.setattr(repository, "TREE_MAX_PAGES", 2)
    _, token = world.job(("read",))
    result = call(world, token, "list_tree", recursive=True)[1]["result"]
    assert len(result["entries"]) == 4 and result["truncated"] is True
    assert len([r for r in world.sim.requests if r.path.endswith("/tree")]) == 2
    small = call(world, token, "list_tree", path="src")[1]["result"]
    assert small["truncated"] is False
