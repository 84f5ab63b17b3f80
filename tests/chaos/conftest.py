"""The chaos world: Mate as in production (gunicorn web, a Celery worker and beat, PostgreSQL,
Redis, job containers on the Docker engine) against the GitLab simulator, with every service
owned by the run so that it can be killed and restarted.

Only this stage runs these tests (``pytest -m chaos``; `make test` runs it after the main suite).
Their database and Redis are private: a cluster and a server started here on free ports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from jobs.runner import hardening
from tests.chaos.services import ROOT, Postgres, Proc, Redis, free_port, mate_process, wait_until
from tests.e2e.stack import can_bind, jobs_gateway
from tests.gitlab_sim import MAINTAINER, GitLabSim

TEST_IMAGE = "mate-test-agent:latest"
MENTIONED_ISSUES = 60


def _config() -> str:
    return f"""\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-5
    image: {TEST_IMAGE}
    system_prompt: You answer comments.
    permissions: [read, comment]
    timeout: 2m
triggers:
  - on: comment_mention
    agent: helper
policies:
  cooldown: 0s
  concurrency: 4
"""


def _missing(reason: str):
    if os.environ.get("MATE_REQUIRE_DOCKER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class ChaosWorld:
    folder: Path
    env: dict[str, str]
    scope: str
    gateway: str
    port: int
    postgres: Postgres
    redis: Redis
    sim: GitLabSim
    project: object
    human: object
    issues: list[int]
    web: Proc
    worker: Proc
    beat: Proc
    docker: object

    @property
    def url(self) -> str:
        return f"http://{self.gateway}:{self.port}"

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def logs(self) -> str:
        parts = [f"--- {p.name} ---\n{p.tail(25)}" for p in (self.web, self.worker, self.beat)]
        return "\n".join(parts)


def _environment(folder: Path, postgres: Postgres, redis: Redis, gateway: str, port: int, scope):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("MATE_", "DJANGO_", "CELERY_")) or name in ("DATABASE_URL",):
            env.pop(name)
    env.update(
        DJANGO_SETTINGS_MODULE="mate.settings",
        DATABASE_URL=postgres.url,
        REDIS_URL=redis.url,
        MATE_VAR_DIR=str(folder / "var"),
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS=f"{gateway},127.0.0.1,localhost",
        MATE_CELERY_EAGER="0",
        MATE_LOG_LEVEL="INFO",
        MATE_LOG_FORMAT="plain",
        MATE_TOOL_BASE_URL=f"http://{gateway}:{port}",
        MATE_ALLOW_PRIVATE_GITLAB="1",
        MATE_AGENT_IMAGE=TEST_IMAGE,
        MATE_CONTAINER_SCOPE=scope,
        MATE_OPENROUTER_MODELS_URL="",
        # A reconciler every 2 s with short graces, so that the run settles within minutes
        # (production: every 60 s, 30 s / 60 s / 120 s).
        MATE_RECONCILE_SECONDS="2",
        MATE_SWEEP_GRACE_SECONDS="5",
        MATE_REQUEUE_AFTER_SECONDS="8",
        MATE_REAP_GRACE_SECONDS="5",
        MATE_MAX_PENDING_PER_TENANT="1000",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture
def chaos_world(docker_client):
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        _missing("redis-server is not installed: the chaos run starts a Redis of its own")
    if Postgres(Path("/nonexistent"), 0).bin is None:
        _missing("no PostgreSQL server binaries: the chaos run starts a cluster of its own")
    try:
        docker_client.images.get(TEST_IMAGE)
    except Exception:
        _missing(f"{TEST_IMAGE} is missing: build it with `bash jobs/agent/build.sh test`")
    gateway = jobs_gateway(docker_client)
    if not can_bind(gateway):
        _missing(f"the {hardening.NETWORK} gateway {gateway} is not an address of this machine")

    folder = Path(tempfile.mkdtemp(prefix="mate-chaos-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own account below it
    scope = f"chaos-{uuid.uuid4().hex[:8]}"
    port = free_port(gateway)
    postgres = Postgres(folder, free_port())
    redis = Redis(folder, free_port())
    sim = GitLabSim(host=gateway).start()
    procs: list[Proc] = []
    ok = False
    try:
        postgres.init()
        redis.start()
        env = _environment(folder, postgres, redis, gateway, port, scope)
        _manage(env, "manage.py", "migrate", "--noinput", "-v0")

        bot = sim.add_user("mate-bot", "Mate Bot")
        human = sim.add_user("alice", "Alice Maintainer")
        pat = sim.add_pat(bot, scopes=["api"], name="mate")
        project = sim.add_project(
            "acme/widgets", files={"README.md": "# Widgets\n"}, members={bot: MAINTAINER, human: 40}
        )
        issues = [
            sim.add_issue(project, f"Wobble {n}", "It wobbles.", human).iid
            for n in range(MENTIONED_ISSUES + 1)
        ]
        seed = {
            "gitlab_url": sim.url,
            "pat": pat,
            "llm_key": f"sk-ant-api03-chaos-{uuid.uuid4().hex}",
            "config": _config(),
            "mates": 4,
        }
        tenant = json.loads(_manage(env, "-m", "tests.chaos.seed", stdin=json.dumps(seed)))
        sim.add_hook(
            project, f"http://{gateway}:{port}/hook/{tenant['uid']}", token=tenant["secret"]
        )

        logs = folder / "logs"
        logs.mkdir()
        web = mate_process("web", env, logs, bind=f"{gateway}:{port}")
        worker = mate_process("worker", env, logs)
        beat = mate_process("beat", env, logs)
        procs += [web, worker, beat]
        for proc in procs:
            proc.start()
        world = ChaosWorld(
            folder,
            env,
            scope,
            gateway,
            port,
            postgres,
            redis,
            sim,
            project,
            human,
            issues,
            web,
            worker,
            beat,
            docker_client,
        )
        wait_until(world.healthy, 60, "Mate's /healthz answering 200")
        yield world
        ok = True
    finally:
        for proc in procs:
            proc.kill()
        for container in docker_client.containers.list(
            all=True, filters={"label": f"{hardening.LABEL_SCOPE}={scope}"}
        ):
            container.remove(force=True)
        for volume in docker_client.volumes.list(
            filters={"label": f"{hardening.LABEL_SCOPE}={scope}"}
        ):
            try:
                volume.remove(force=True)
            except Exception:
                pass
        sim.stop()
        redis.close()
        postgres.close()
        if ok:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"chaos run kept its folder for inspection: {folder}")
