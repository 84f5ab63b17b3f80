"""Fixtures for the job runner: a tiny test agent image built from scratch, a tenant whose bot
maintains a project in the GitLab simulator (so jobs get real credentials from
``jobs.credentials``), a job factory, and a guard that no job container outlives its test."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.models import Job, JobStatus
from jobs.runner import hardening
from tests.tenants.factories import TenantFactory, make_bot, make_default

TEST_IMAGE = "mate-runner-test:latest"
SCOPE = f"test-{uuid.uuid4().hex[:10]}"  # this session's containers only (mate.scope)
LLM_KEY = "canary-llm-key-5d1e0b7a93"
CACHE = Path(os.environ.get("MATE_TEST_CACHE", Path(tempfile.gettempdir()) / "mate-test-cache"))

# The agent stand-in: runs the job's TEST_SCRIPT (agent env) with busybox sh, or says hello.
# Like the real bootstrap it is PID 1 (no docker-init): it runs the work as a child and passes
# SIGTERM on, since the kernel gives PID 1 no default signal handling.
AGENT_SCRIPT = """#!/bin/sh
if [ -n "$TEST_SCRIPT" ]; then
  /bin/sh -c "$TEST_SCRIPT" &
  child=$!
  trap 'kill -TERM $child 2>/dev/null' TERM
  wait $child 2>/dev/null
  status=$?
  while kill -0 $child 2>/dev/null; do wait $child 2>/dev/null; status=$?; done
  exit $status
fi
echo "mate-agent test stand-in"
"""
APPLETS = (
    "sh cat echo sleep id ls grep sed head tail env touch test [ printf true false kill ps "
    "mkdir rm wc tr cut seq wget"
).split()


def _busybox() -> Path:
    """A static busybox from Debian's busybox-static package (cached between sessions)."""
    target = CACHE / "busybox"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(2):
            got = subprocess.run(
                ["apt-get", "download", "busybox-static"], cwd=tmp, capture_output=True
            )
            if got.returncode == 0:
                break
            if attempt == 0:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        else:
            pytest.fail(f"apt-get download busybox-static failed: {got.stderr.decode()[-500:]}")
        (deb,) = Path(tmp).glob("busybox-static_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"], check=True)
        (Path(tmp) / "x/bin/busybox").replace(target)
    return target


def _add(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, mode=0o755, link=None):
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid = mode, 0, 0
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
    elif data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _rootfs(busybox: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "etc", "opt", "opt/mate", "opt/mate/bin", "workspace", "home"):
            _add(tar, folder)
        _add(tar, "home/mate")
        _add(tar, "tmp", mode=0o1777)
        _add(tar, "bin/busybox", data=busybox)
        for applet in APPLETS:
            _add(tar, f"bin/{applet}", link="busybox")
        _add(tar, "opt/mate/bin/mate-agent", data=AGENT_SCRIPT.encode())
        _add(
            tar,
            "etc/passwd",
            data=b"root:x:0:0::/root:/bin/sh\nmate:x:1000:1000::/home/mate:/bin/sh\n",
            mode=0o644,
        )
    return buffer.getvalue()


@pytest.fixture(scope="session")
def runner_image(docker_client) -> str:
    """``mate-runner-test:latest``: busybox plus /opt/mate/bin/mate-agent; rebuilt only when
    its content changes (a digest label)."""
    busybox = _busybox().read_bytes()
    digest = hashlib.sha256(busybox + AGENT_SCRIPT.encode() + " ".join(APPLETS).encode())
    digest_label = digest.hexdigest()[:16]
    try:
        found = docker_client.images.get(TEST_IMAGE)
        if (found.labels or {}).get("mate.test.digest") == digest_label:
            return TEST_IMAGE
    except Exception:
        pass
    repo, tag = TEST_IMAGE.split(":")
    docker_client.api.import_image_from_data(
        _rootfs(busybox),
        repository=repo,
        tag=tag,
        changes=[f"LABEL mate.test.digest={digest_label}"],
    )
    return TEST_IMAGE


def _our_containers(client) -> list:
    return client.containers.list(
        all=True, filters={"label": [hardening.LABEL_JOB, f"{hardening.LABEL_SCOPE}={SCOPE}"]}
    )


@pytest.fixture(scope="session")
def _runtime_volumes(docker_client):
    yield
    for volume in docker_client.volumes.list(filters={"label": f"{hardening.LABEL_SCOPE}={SCOPE}"}):
        try:
            volume.remove(force=True)
        except Exception:
            pass


@pytest.fixture
def runner(docker_client, runner_image, _runtime_volumes, settings):
    """Runner settings for a test, and afterwards: no container of this session is left."""
    settings.MATE_AGENT_IMAGE = runner_image
    settings.MATE_CONTAINER_SCOPE = SCOPE
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    settings.MATE_TOOL_BASE_URL = ""
    yield docker_client
    leftovers = _our_containers(docker_client)
    for container in leftovers:
        container.remove(force=True)
    assert not leftovers, f"containers left behind: {[c.name for c in leftovers]}"


@dataclass
class RunnerWorld:
    sim: object
    tenant: object
    project: object
    bot_user: object

    def job(self, script: str = "", *, timeout: int = 60, status=JobStatus.STARTING, **agent):
        """A job of this tenant whose agent stand-in runs ``script`` (busybox sh)."""
        env = dict(agent.pop("env", {}))
        if script:
            env["TEST_SCRIPT"] = script
        snapshot_agent = {
            "name": "helper",
            "backend": "claude-code",
            "model": "claude-sonnet-4-6",
            "system_prompt": "Help.",
            "image": None,
            "timeout_seconds": timeout,
            "env": env,
            "keep_container": False,
            **agent,
        }
        path = self.project.path_with_namespace
        event = {
            "event": "issue_assigned",
            "bot": "mate-bot",
            "project_id": self.project.id,
            "project_path": path,
            "project_default_branch": "main",
            "object_kind": "issue",
            "object_iid": 1,
            "title": "Crash on login",
            "url": f"{self.sim.url}/{path}/-/issues/1",
        }
        return Job.objects.create(
            tenant=self.tenant,
            event_key=uuid.uuid4().hex,
            event="issue_assigned",
            bot_username="mate-bot",
            agent="helper",
            trigger="tenant[0]",
            project_id=self.project.id,
            project_path=path,
            object_kind="issue",
            object_iid=1,
            loop_key="issue/1",
            status=status,
            snapshot={
                "event": event,
                "bot": "mate-bot",
                "project": {"id": self.project.id, "path": path},
                "object": {"kind": "issue", "iid": 1, "pipeline_id": None},
                "config": {"ref": "main", "commit": None, "file": ".mate.yml"},
                "trigger": {"origin": "tenant", "index": 0, "on": "issue_assigned"},
                "agent": snapshot_agent,
                "authorities": ["read", "comment"],
                "timeout_seconds": timeout,
            },
        )


@pytest.fixture
def runner_world(gitlab_sim, runner) -> RunnerWorld:
    sim = gitlab_sim
    sim.deliver_api_events = False
    bot_user = sim.add_user("mate-bot")
    pat = sim.add_pat(bot_user, scopes=["api"])
    project = sim.add_project("acme/widget", members={bot_user: 40}, files={"README.md": "# w\n"})
    tenant = TenantFactory(gitlab_url=sim.url, llm_provider="openrouter")
    tenant.set_secret("llm_key", LLM_KEY)
    tenant.save()
    make_default(make_bot(tenant, username="mate-bot", token=pat, gitlab_user_id=bot_user.id))
    return RunnerWorld(sim, tenant, project, bot_user)
