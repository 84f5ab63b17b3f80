"""Starting, stopping, resetting, the demo world, and a few state transitions with hooks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import gitlab
import requests

from tests.gitlab_sim import GitLabSim
from tests.gitlab_sim.__main__ import seed


def test_context_manager_binds_loopback_and_cleans_up():
    with GitLabSim() as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        assert sim._server.server_address[0] == "127.0.0.1"
        root = sim.root
        assert requests.get(f"{sim.api_url}/user", timeout=5).status_code == 401
    assert not root.exists()


def test_reset_forgets_everything(gitlab_sim):
    user = gitlab_sim.add_user("alice")
    token = gitlab_sim.add_pat(user)
    gitlab_sim.add_project("alice/demo", members={user: 40})
    requests.get(f"{gitlab_sim.api_url}/user", headers={"PRIVATE-TOKEN": token}, timeout=5)
    gitlab_sim.reset()
    assert gitlab_sim.requests == []
    response = requests.get(
        f"{gitlab_sim.api_url}/user", headers={"PRIVATE-TOKEN": token}, timeout=5
    )
    assert response.status_code == 401
    again = gitlab_sim.add_user("alice")
    assert again.id == 1
    gitlab_sim.add_project("alice/demo", members={again: 40})


def test_demo_world(gitlab_sim):
    tokens = seed(gitlab_sim, None, None)
    gl = gitlab.Gitlab(gitlab_sim.url, private_token=tokens[2][2])
    project = gl.projects.get("acme/widgets")
    assert project.issues.get(1).title.startswith("Area")
    mr = project.mergerequests.get(1)
    assert mr.head_pipeline["status"] == "failed"
    assert [a["username"] for a in mr.assignees] == ["mate-bot"]
    assert b"issue_assigned" in project.files.raw(".mate.yml", ref="main")


def test_module_runs_alone_and_prints_tokens(tmp_path):
    probe = GitLabSim().start()
    port = probe.port
    probe.stop()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.gitlab_sim", "--port", str(port)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0].startswith(f"GitLab simulator: http://127.0.0.1:{port}")
        token = lines[2].split()[-1]
        assert token.startswith("glpat-")
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/api/v4/user",
                    headers={"PRIVATE-TOKEN": token},
                    timeout=5,
                )
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.json()["username"] == "alice"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_close_reopen_and_merge_actions(world, receiver):
    sim = world.sim
    sim.add_hook(world.project, receiver.url, token="t")
    sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    sim.close_issue(world.project, 1, world.users["maintainer"])
    closed = receiver.json()
    assert closed["object_attributes"]["action"] == "close"
    assert closed["object_attributes"]["state"] == "closed"
    assert closed["changes"]["state_id"] == {"previous": 1, "current": 2}
    sim.reopen_issue(world.project, 1, world.users["maintainer"])
    assert receiver.json()["object_attributes"]["action"] == "reopen"
    sim.commit_files(world.project, "feature", {"a.txt": "a"}, start_branch="main")
    mr = sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    world.api().mergerequests.get(mr.iid).merge()
    sim.wait_for_deliveries()
    merged = receiver.json()
    assert merged["object_attributes"]["action"] == "merge"
    assert merged["object_attributes"]["state"] == "merged"
    assert merged["changes"]["state_id"] == {"previous": 1, "current": 3}


def test_pipeline_status_transitions(world, receiver):
    sim = world.sim
    sim.add_hook(world.project, receiver.url, events=["pipeline"])
    pipeline = sim.add_pipeline(
        world.project, "main", "running", jobs=[{"name": "t", "status": "running"}]
    )
    sim.set_pipeline_status(pipeline, "success")
    body = receiver.json()
    assert body["object_attributes"]["status"] == "success"
    assert body["object_attributes"]["finished_at"] is not None
    assert receiver.requests[0]["headers"]["X-Gitlab-Event"] == "Pipeline Hook"
