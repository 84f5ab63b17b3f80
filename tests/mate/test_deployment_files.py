"""compose.yaml, Procfile and Dockerfile describe the same processes the README promises."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_the_five_services_and_only_the_worker_gets_the_socket():
    compose = YAML(typ="safe").load((ROOT / "compose.yaml").read_text())
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker", "beat"}
    for name, service in compose["services"].items():
        mounts = [str(v) for v in service.get("volumes", [])]
        has_socket = any("docker.sock" in m for m in mounts)
        assert has_socket == (name == "worker"), f"{name}: docker socket mount {has_socket}"
    assert "gunicorn" in compose["services"]["web"]["command"]
    assert compose["services"]["worker"]["environment"]["MATE_ENV"] == "production"


def test_web_is_published_on_loopback_and_the_jobs_gateway_only():
    """Issue #15: not on all interfaces; agent containers use the mate-jobs gateway address."""
    compose = YAML(typ="safe").load((ROOT / "compose.yaml").read_text())
    ports = compose["services"]["web"]["ports"]
    # host:published:container, where host and published may be ${VAR:-default}
    parts = [re.findall(r"\$\{[^}]*\}|[^:]+", p) for p in ports]
    assert all(len(p) == 3 for p in parts), f"every published port names its host address: {ports}"
    hosts = sorted(p[0] for p in parts)
    assert hosts == ["${MATE_JOBS_GATEWAY:-10.213.0.1}", "127.0.0.1"], ports
    jobs = compose["networks"]["jobs"]
    assert jobs["name"] == "mate-jobs"
    assert jobs["driver_opts"]["com.docker.network.bridge.enable_icc"] == "false"
    assert compose["services"]["worker"]["group_add"], "the worker must join the socket's group"


def test_compose_config_is_accepted_by_docker_compose():
    tool = ["docker", "compose"] if _has_compose_plugin() else None
    if tool is None and shutil.which("docker-compose"):
        tool = ["docker-compose"]
    if tool is None:
        if os.environ.get("MATE_REQUIRE_DOCKER") == "1":
            pytest.fail("neither `docker compose` nor `docker-compose` is installed")
        pytest.skip("NO docker compose TOOL: cannot validate compose.yaml here")
    env = dict(
        os.environ,
        DJANGO_SECRET_KEY="k",
        MATE_ENCRYPTION_KEYS="k",
        DJANGO_ALLOWED_HOSTS="h",
        DOCKER_GID="999",
    )
    result = subprocess.run(
        [*tool, "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _has_compose_plugin() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_procfile_runs_web_worker_and_beat_on_both_queues():
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(entries) == {"web", "worker", "beat"}
    assert "--queues default,jobs" in entries["worker"]
