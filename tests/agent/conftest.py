"""Fixtures for the agent image tests: the images (built once per session by
jobs/agent/build.sh, fast when cached), the Docker bridge gateway address, the stand-in servers,
and a helper that runs a hardened container and collects what it printed."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agent.standins import StandIns, make_repo

ROOT = Path(__file__).resolve().parents[2]
AGENT_DIR = ROOT / "jobs" / "agent"
BUILD_SH = AGENT_DIR / "build.sh"
AGENT_IMAGE = "mate-agent:latest"
BASE_IMAGE = "mate-base:bookworm"
TEST_IMAGE = "mate-test-agent:latest"
TEST_LABEL = {"mate.test": "agent"}

# The hardening of a job container (SPEC §6.3), as the runner applies it.
TMPFS_FLAGS = "rw,exec,nosuid,nodev,uid=1000,gid=1000"
HARDENED = {
    "user": "1000:1000",
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "read_only": True,
    "privileged": False,
    "tmpfs": {
        "/workspace": f"{TMPFS_FLAGS},mode=0700,size=256m",
        "/home/mate": f"{TMPFS_FLAGS},mode=0700,size=256m",
        "/tmp": f"{TMPFS_FLAGS},mode=1777,size=256m",
    },
    "pids_limit": 256,
    "mem_limit": 2 * 1024**3,
    "network": "bridge",
}


def pinned_claude_version() -> str:
    match = re.search(r"^CLAUDE_CODE_VERSION=(\S+)$", BUILD_SH.read_text(), re.M)
    assert match, "build.sh pins no CLAUDE_CODE_VERSION"
    return match.group(1)


@pytest.fixture(scope="session")
def agent_images(docker_client) -> dict[str, str]:
    """Runs build.sh once per session; every image exists afterwards."""
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(BUILD_SH)], capture_output=True, text=True, timeout=1500, cwd=ROOT
    )
    if done.returncode != 0:
        pytest.fail(f"jobs/agent/build.sh failed ({done.returncode}):\n{done.stderr[-4000:]}")
    print(f"build.sh took {time.monotonic() - started:.1f}s:\n{done.stderr}")
    return {"agent": AGENT_IMAGE, "base": BASE_IMAGE, "test": TEST_IMAGE}


@pytest.fixture(scope="session")
def bridge_gateway(docker_client) -> str:
    """The default bridge's gateway: an address of this machine that containers reach."""
    config = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    gateway = config.get("Gateway")
    if not gateway:
        gateway = str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    return gateway


@pytest.fixture
def standins(bridge_gateway, tmp_path):
    """The stand-in servers on the gateway address, with a fresh repository and clone token."""
    commits = make_repo(tmp_path / "git")
    servers = StandIns(
        host=bridge_gateway,
        git_root=tmp_path / "git",
        clone_token="glpat-CANARY-clone-7f3a9c",
        commits=commits,
    )
    servers.start()
    yield servers
    servers.stop()


def contract_env(s: StandIns, **overrides: str) -> dict[str, str]:
    """The environment contract of SPEC §6.3, pointed at the stand-ins."""
    env = {
        "MATE_JOB_TOKEN": "mjt-job-credential-5b1e",
        "MATE_TOOL_URL": f"{s.base}/tools",
        "MATE_MCP_URL": f"{s.base}/mcp",
        "MATE_GITLAB_URL": f"{s.base}/",
        "MATE_CLONE_URL": f"{s.base}/git/project.git",
        "MATE_CLONE_TOKEN": s.clone_token,
        "MATE_REF": "feature",
        "MATE_MODEL": "claude-sonnet-4-5",
        "MATE_BACKEND": "claude-code",
        "MATE_SYSTEM_PROMPT": "You are the stand-in reviewer.",
        "MATE_TASK": "Issue #7 was assigned to you: please say hello.",
        "ANTHROPIC_AUTH_TOKEN": "llm-key-anthropic-91c2",
        "ANTHROPIC_BASE_URL": f"{s.base}/llm",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict]:
        import json

        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def run_container(docker_client):
    """run_container(image, **kwargs) -> Run: a hardened container, waited for and removed."""
    started = []

    def run(image: str, timeout: int = 120, **kwargs) -> Run:
        options = {**HARDENED, **kwargs}
        options["labels"] = {**TEST_LABEL, **options.get("labels", {})}
        container = docker_client.containers.run(image, detach=True, **options)
        started.append(container)
        try:
            status = container.wait(timeout=timeout)
        except Exception:
            container.kill()
            raise
        out = container.logs(stdout=True, stderr=False).decode(errors="replace")
        err = container.logs(stdout=False, stderr=True).decode(errors="replace")
        return Run(status["StatusCode"], out, err)

    yield run
    for container in started:
        try:
            container.remove(force=True)
        except Exception:  # already gone
            pass
