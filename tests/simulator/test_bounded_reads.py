"""What GitLab lets a client learn before it downloads: file metadata by HEAD, raw blobs with
their size, traces streamed, diffs one page at a time (what Mate's read tools rely on, T45)."""

from __future__ import annotations

import hashlib

import requests

BIG = b"0123456789abcdef" * 131_072  # 2 MiB


def api(world, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"PRIVATE-TOKEN": world.tokens["maintainer"]}
    return requests.request(
        method, f"{world.sim.api_url}{path}", headers=headers, timeout=10, **kwargs
    )


def test_head_answers_the_files_metadata_in_headers_without_a_body(world):
    world.sim.commit_files(world.project, "main", {"data/big.bin": BIG}, "big file")
    pid = world.project.id
    head = api(world, "HEAD", f"/projects/{pid}/repository/files/data%2Fbig.bin?ref=main")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["X-Gitlab-Size"] == str(len(BIG))
    assert head.headers["X-Gitlab-File-Path"] == "data/big.bin"
    assert head.headers["X-Gitlab-File-Name"] == "big.bin"
    assert head.headers["X-Gitlab-Ref"] == "main"
    assert head.headers["X-Gitlab-Encoding"] == "base64"
    assert head.headers["X-Gitlab-Content-Sha256"] == hashlib.sha256(BIG).hexdigest()
    assert head.headers["X-Gitlab-Execute-Filemode"] == "false"
    sha = world.sim.branch_sha(world.project, "main")
    assert head.headers["X-Gitlab-Commit-Id"] == sha
    assert head.headers["X-Gitlab-Last-Commit-Id"] == sha
    # the same metadata as the JSON GET, which carries the content as well
    got = world.api().files.get("data/big.bin", ref="main")
    assert head.headers["X-Gitlab-Blob-Id"] == got.blob_id
    # python-gitlab's files.head reads the same headers
    assert world.api().files.head("data/big.bin", ref="main")["X-Gitlab-Size"] == str(len(BIG))


def test_head_refusals_have_no_body(world):
    pid = world.project.id
    missing_ref = api(world, "HEAD", f"/projects/{pid}/repository/files/README.md")
    assert (missing_ref.status_code, missing_ref.content) == (400, b"")
    missing = api(world, "HEAD", f"/projects/{pid}/repository/files/nope.txt?ref=main")
    assert (missing.status_code, missing.content) == (404, b"")
    outsider = requests.head(
        f"{world.sim.api_url}/projects/{pid}/repository/files/README.md?ref=main",
        headers={"PRIVATE-TOKEN": world.tokens["outsider"]},
        timeout=10,
    )
    assert outsider.status_code == 404


def test_raw_download_is_streamed_with_its_size(world):
    world.sim.commit_files(world.project, "main", {"data/big.bin": BIG}, "big file")
    url = f"/projects/{world.project.id}/repository/files/data%2Fbig.bin/raw"
    with api(world, "GET", url, params={"ref": "main"}, stream=True) as raw:
        assert raw.status_code == 200
        assert raw.headers["Content-Length"] == str(len(BIG))
        assert raw.headers["X-Gitlab-Size"] == str(len(BIG))
        first = next(raw.iter_content(4096))
    assert first == BIG[:4096]
    assert world.api().files.raw("data/big.bin", ref="main") == BIG


def test_small_traces_have_a_length_and_large_ones_are_chunked(world):
    small_log = "line 1\nline 2\n"
    large_log = "".join(f"{n:07d} building\n" for n in range(120_000))  # ~2 MiB
    pipeline = world.sim.add_pipeline(
        world.project,
        "main",
        jobs=[
            {"name": "small", "status": "failed", "log": small_log},
            {"name": "large", "status": "failed", "log": large_log},
        ],
    )
    small_job, large_job = pipeline.jobs
    small = api(world, "GET", f"/projects/{world.project.id}/jobs/{small_job.id}/trace")
    assert small.headers["Content-Length"] == str(len(small_log))
    assert small.headers["Content-Disposition"] == f'infile; filename="{small_job.id}.log"'
    assert small.text == small_log
    large = api(world, "GET", f"/projects/{world.project.id}/jobs/{large_job.id}/trace")
    assert large.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in large.headers
    assert large.headers["Content-Type"] == "text/plain"
    assert large.text == large_log
    # python-gitlab streams it chunk by chunk when asked to
    job = world.api().jobs.get(large_job.id, lazy=True)
    chunks = list(job.trace(streamed=True, iterator=True, chunk_size=65_536))
    assert len(chunks) > 1 and b"".join(chunks) == large_log.encode()


def test_diffs_come_one_page_per_request(world):
    files = {f"docs/page{n:02d}.md": f"page {n}\n" for n in range(12)}
    world.sim.commit_files(world.project, "feature", files, "docs", start_branch="main")
    mr = world.sim.add_merge_request(
        world.project, "feature", "main", world.users["maintainer"], "Docs"
    )
    world.sim.requests.clear()
    path = f"/projects/{world.project.id}/merge_requests/{mr.iid}/diffs"
    page = api(world, "GET", path, params={"page": 2, "per_page": 5})
    assert [d["new_path"] for d in page.json()] == [f"docs/page{n:02d}.md" for n in range(5, 10)]
    assert page.headers["X-Next-Page"] == "3" and page.headers["X-Total-Pages"] == "3"
    assert [(r.method, r.path) for r in world.sim.requests] == [("GET", f"/api/v4{path}")]
