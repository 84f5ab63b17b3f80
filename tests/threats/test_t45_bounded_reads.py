"""T45: an agent exhausts the web worker's memory through tool reads.

An agent that can push a branch can write a CI job printing 100 MB, or commit a huge file, and
then ask the tool service for it. Each read here goes through the real tool endpoint
(``POST /tools/<name>`` in Django's request handler, a job credential, the per-job key minted
at the simulator) against a simulator that runs **in a process of its own**
(``big_reads_sim.py``), so the 30 MB trace and the 60 MB file it holds are never counted.

What is measured is tracemalloc's peak of this process, Mate's, across the one request,
above what it held when the request started, after a warm-up call of the same tool (imports
and caches of a first call are not the read's). It must stay under 20 MiB:

* ``get_job_log`` with ``tail_lines=1`` on a 30 MB trace (which GitLab streams, chunked): the
  trace is streamed and only its tail kept; the answer is its last line;
* ``get_file`` on a 60 MB file: HEAD tells its size, the call is refused as ``validation``
  naming the cap, and the file is never downloaded;
* ``get_file`` on a binary file of exactly the cap (1 MB, answered base64) stays under it too;
* the MR diff stops paging at its cap (in-process simulator, which records every request).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tracemalloc
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from jobs import credentials
from jobs.models import Job, JobStatus
from tests.tenants.factories import TenantFactory, make_bot, make_default
from tests.threats.big_reads_sim import AT_CAP_BYTES, TRACE_LAST
from tests.toolservice.conftest import _tool_service_urls, world
from toolservice.tools import merge_requests, repository

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MiB = 1024 * 1024
PEAK_LIMIT = 20 * MiB
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def far_gitlab():
    """The simulator with the big trace and file, in its own process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.threats.big_reads_sim"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"the simulator process ended early (exit {proc.wait()})")
        yield json.loads(line)
    finally:
        proc.stdin.close()
        if proc.wait(timeout=30) != 0:
            pytest.fail("the simulator process raised (see its stderr)")


@pytest.fixture
def far_job(far_gitlab, settings):
    """A running read-only job on the far simulator's project, and its credential."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    tenant = TenantFactory(gitlab_url=far_gitlab["url"])
    make_default(
        make_bot(
            tenant,
            username="mate-bot",
            token=far_gitlab["pat"],
            gitlab_user_id=far_gitlab["bot_id"],
        )
    )
    event = {
        "event": "issue_assigned",
        "project_id": far_gitlab["project_id"],
        "project_default_branch": "main",
    }
    job = Job.objects.create(
        tenant=tenant,
        event_key=uuid.uuid4().hex,
        event=event["event"],
        bot_username="mate-bot",
        agent="helper",
        trigger="tenant[0]",
        project_id=far_gitlab["project_id"],
        project_path=far_gitlab["project_path"],
        object_kind="issue",
        object_iid=1,
        loop_key="issue/1",
        status=JobStatus.RUNNING,
        snapshot={
            "authorities": ["read"],
            "project": {"id": far_gitlab["project_id"], "path": far_gitlab["project_path"]},
            "object": {"kind": "issue", "iid": 1},
            "event": event,
            "timeout_seconds": 600,
            "bot": "mate-bot",
        },
    )
    token = credentials.issue_job_credential(job)
    credentials.mint_gitlab_key(job)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def measured_call(client: APIClient, name: str, arguments: dict) -> tuple[int, dict, int]:
    """POST /tools/<name>; the answer and the peak bytes the request added in this process."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        response = client.post(f"/tools/{name}", arguments, format="json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response.status_code, response.json(), peak - before


def test_the_tail_of_a_30_mb_ci_log_costs_the_worker_less_than_20_mib(far_gitlab, far_job):
    warm = far_job.post("/tools/get_job_log", {"job_id": far_gitlab["short_job"]}, format="json")
    assert warm.status_code == 200 and warm.json()["result"]["log"].endswith(TRACE_LAST)
    status, body, peak = measured_call(
        far_job, "get_job_log", {"job_id": far_gitlab["flood_job"], "tail_lines": 1}
    )
    print(f"get_job_log on a 30 MB trace: peak {peak / MiB:.2f} MiB")
    assert peak < PEAK_LIMIT, f"the request raised the worker's memory by {peak / MiB:.1f} MiB"
    assert status == 200, body
    assert body["result"]["log"] == TRACE_LAST
    assert body["result"]["lines"] == 1 and body["result"]["truncated"] is True


def test_a_60_mb_file_is_refused_by_its_size_before_any_download(far_gitlab, far_job):
    warm = far_job.post("/tools/get_file", {"path": "src/app.py"}, format="json")
    assert warm.status_code == 200 and "def main" in warm.json()["result"]["content"]
    status, body, peak = measured_call(far_job, "get_file", {"path": "data/huge.bin"})
    print(f"get_file on a 60 MB file: peak {peak / MiB:.2f} MiB")
    assert peak < PEAK_LIMIT, f"the request raised the worker's memory by {peak / MiB:.1f} MiB"
    assert (status, body["error"]["category"]) == (400, "validation"), body
    message = body["error"]["message"]
    assert str(far_gitlab["file_bytes"]) in message
    assert str(repository.GET_FILE_MAX_BYTES) in message


def test_the_largest_file_get_file_reads_costs_less_than_20_mib_too(far_gitlab, far_job):
    """A binary file of exactly the cap: read, base64-encoded and answered as JSON."""
    assert AT_CAP_BYTES == repository.GET_FILE_MAX_BYTES
    warm = far_job.post("/tools/get_file", {"path": "src/app.py"}, format="json")
    assert warm.status_code == 200
    status, body, peak = measured_call(far_job, "get_file", {"path": "data/at-cap.bin"})
    print(f"get_file on a file of the cap: peak {peak / MiB:.2f} MiB")
    assert status == 200, body
    assert peak < PEAK_LIMIT, f"the request raised the worker's memory by {peak / MiB:.1f} MiB"
    result = body["result"]
    assert (result["encoding"], result["size"]) == ("base64", AT_CAP_BYTES)
    assert len(base64.b64decode(result["content"])) == AT_CAP_BYTES


def test_without_a_size_header_the_download_still_stops_at_the_cap(world, monkeypatch):
    """A proxy in front of GitLab that drops the X-Gitlab-* headers: HEAD tells no size, and
    the raw read stops as soon as it passes the cap (the bytes held are bounded by the cap,
    not by what GitLab said)."""
    world.sim.commit_files(world.project, "main", {"data/blob.bin": b"x" * 300_000}, "blob")
    monkeypatch.setattr(repository, "GET_FILE_MAX_BYTES", 100_000)
    world.sim.fail_next(status=200, body={}, method="HEAD", path="/repository/files/data/blob")
    _, token = world.job(("read",))
    response = world.client(token).post("/tools/get_file", {"path": "data/blob.bin"}, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "at least" in message and "at most 100000 bytes" in message
    assert [r.method for r in world.sim.requests if "/repository/files/" in r.path] == [
        "HEAD",
        "GET",
    ]


def test_the_diff_stops_paging_at_its_cap(world, monkeypatch):
    files = {f"docs/page{n:03d}.md": f"line {n}\n" * 30 for n in range(120)}
    world.sim.commit_files(world.project, "feature/login", files, "Many docs")
    monkeypatch.setattr(merge_requests, "DIFF_MAX_CHARS", 5_000)
    _, token = world.job(("read",), kind="merge_request")
    world.sim.requests.clear()
    response = world.client(token).post("/tools/get_merge_request_diff", {}, format="json")
    result = response.json()["result"]
    assert result["truncated"] is True
    assert sum(len(f["diff"]) for f in result["files"]) <= 5_000
    pages = [r for r in world.sim.requests if r.path.endswith("/diffs")]
    # 121 files, 10 a page: the cap is reached on the first or second page, and no page after
    # the one that reached it is fetched (paging on would make 13 requests).
    assert 1 <= len(pages) <= 2, [r.query for r in pages]
    assert len(result["files"]) + len(result["omitted_files"]) == 10 * len(pages)
