"""``make demo`` (issue #10): ``mate demo --check`` on a fresh data folder does everything the
newcomer's demo does (simulator, LLM stand-in, demo tenant, Mate's web + worker + beat through
honcho, an issue assigned to the bot), waits for the job and exits 0 on DONE/SUCCESS."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from mate.cli import demo

ROOT = Path(__file__).resolve().parents[2]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _manage(env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def demo_env(tmp_path, docker_client, agent_image):
    """Embedded defaults in a fresh folder (SQLite, filesystem broker), this test's own
    container scope; afterwards no container or runtime volume of that scope is left."""
    scope = f"demo-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "MATE_VAR_DIR": str(tmp_path / "var"),
            "MATE_CONTAINER_SCOPE": scope,
            "DJANGO_SETTINGS_MODULE": "mate.settings",
        }
    )
    yield env
    label = f"mate.scope={scope}"
    leftovers = docker_client.containers.list(all=True, filters={"label": label})
    for container in leftovers:
        container.remove(force=True)
    for volume in docker_client.volumes.list(filters={"label": label}):
        volume.remove(force=True)
    assert not leftovers, f"containers left behind: {[c.name for c in leftovers]}"


@pytest.mark.docker
@pytest.mark.slow
def test_demo_check_runs_a_job_to_success_and_prints_the_console_url(demo_env):
    started = time.monotonic()
    for args in (("migrate", "--noinput"), ("mate", "ensure-operator")):
        done = _manage(demo_env, *args)
        assert done.returncode == 0, done.stderr[-3000:]
    done = _manage(demo_env, "mate", "demo", "--check", "--port", "0", "--timeout", "180")
    out = done.stdout
    assert done.returncode == 0, f"{out[-3000:]}\n{done.stderr[-3000:]}"

    job_url = re.search(rf"Watch the job live:\s+(http://\S+/t/({UUID})/jobs/({UUID})/)", out)
    overview = re.search(rf"Tenant overview:\s+(http://\S+/t/{UUID}/)", out)
    assert job_url and overview, out
    assert job_url.group(1).startswith(overview.group(1))
    assert f"Job {job_url.group(3)} ended DONE / SUCCESS" in out
    assert '"Mate looked at: Widgets wobble on Tuesdays"' in out
    assert "Sign in as:          operator" in out

    # Everything it started is stopped: the web server no longer answers.
    host, port = re.match(r"http://([\d.]+):(\d+)/", job_url.group(1)).groups()
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(2)
        probe.connect((host, int(port)))
    assert time.monotonic() - started < 120


@pytest.mark.django_db
def test_demo_without_docker_says_what_is_missing(monkeypatch):
    from django.contrib.auth import get_user_model

    from jobs.runner import containers

    get_user_model().objects.create_user("operator", password="x" * 16)

    def no_engine():
        raise containers.RunnerError("the Docker engine is not reachable (DockerException)")

    monkeypatch.setattr(containers, "engine", no_engine)
    out, err = io.StringIO(), io.StringIO()
    options = {"check": True, "port": 0, "owner": "operator", "pace": None, "timeout": 10}
    assert demo.run(options, out, err) == 2
    message = err.getvalue()
    assert "make demo needs a Docker engine on this machine" in message
    assert "docs.docker.com/engine/install" in message and "docker info" in message


@pytest.mark.django_db
def test_demo_without_the_operator_account_says_how_to_make_it():
    err = io.StringIO()
    options = {"check": True, "port": 0, "owner": "nobody", "pace": None, "timeout": 10}
    assert demo.run(options, io.StringIO(), err) == 2
    assert "mate ensure-operator" in err.getvalue()
