"""The end-to-end world: GitLab simulator, LLM stand-in and a live Mate, all on the ``mate-jobs``
bridge's gateway address so that a real job container reaches each of them, and nothing else.

What is real: the webhook over HTTP, routing, the job lifecycle and runner, the hardened
container from the default agent image ``mate-agent:latest`` with claude-code 2.1.197 and the
bootstrap, the clone over git smart HTTP, credentials minted and revoked at the simulator, and
the tool service over MCP. What stands in: GitLab (the simulator), the Anthropic API (the LLM
stand-in), and the Celery worker. Celery runs eagerly, so a delivery is routed inside the webhook
request; ``lifecycle.enqueue_run`` keeps its real body (``run_job.delay``) but is started in a
background thread, as a worker would take the task from the ``jobs`` queue, so the webhook
answers at once while the job runs.
"""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from jobs.models import FINAL_STATUSES, Job
from jobs.runner import hardening
from tests.e2e.stack import MateServer, can_bind, jobs_gateway, wait_for
from tests.gitlab_sim import GitLabSim
from tests.llm_sim import LLMSim

ROOT = Path(__file__).resolve().parents[2]
AGENT_IMAGE = "mate-agent:latest"
SCOPE = f"e2e-{uuid.uuid4().hex[:10]}"  # this session's containers and runtime volume
MODEL = "claude-sonnet-4-5"
TENANT_CONFIG = f"""\
version: 1
agents:
  helper:
    backend: claude-code
    model: {MODEL}
    system_prompt: You help with GitLab issues through the mate tools.
    permissions: [read, comment]
    timeout: 5m
triggers:
  - on: issue_assigned
    agent: helper
"""
ISSUE_TITLE = "Widgets wobble on Tuesdays"


@pytest.fixture(scope="session")
def agent_image(docker_client) -> str:
    """The default agent image, built by jobs/agent/build.sh (about a second when cached)."""
    done = subprocess.run(
        ["bash", str(ROOT / "jobs/agent/build.sh"), "agent"],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=ROOT,
    )
    if done.returncode != 0:
        pytest.fail(f"jobs/agent/build.sh agent failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return AGENT_IMAGE


@pytest.fixture(scope="session")
def gateway(docker_client) -> str:
    address = jobs_gateway(docker_client)
    if not can_bind(address):
        pytest.fail(
            f"the {hardening.NETWORK} gateway {address} is not an address of this machine: the "
            "end-to-end test needs the Docker engine on this host"
        )
    return address


@pytest.fixture(scope="session")
def _scope_volumes(docker_client):
    yield SCOPE
    for volume in docker_client.volumes.list(filters={"label": f"{hardening.LABEL_SCOPE}={SCOPE}"}):
        try:
            volume.remove(force=True)
        except Exception:  # in use by a leftover container: reported by the world's check
            pass


@dataclass
class E2EWorld:
    sim: GitLabSim
    llm: LLMSim
    mate: MateServer
    tenant: object
    owner: object
    project: object
    bot_user: object
    human: object
    llm_key: str
    docker: object
    runs: list[threading.Thread] = field(default_factory=list)

    def assign(self, iid: int = 1):
        """The human assigns issue ``iid`` to the bot: the simulator sends the Issue Hook."""
        return self.sim.assign_issue(self.project, iid, ["mate-bot"], by=self.human)

    def job(self, timeout: float = 20) -> Job:
        return wait_for(
            lambda: Job.objects.filter(tenant=self.tenant).first(), timeout, "a job was created"
        )

    def finished(self, job: Job, timeout: float = 120) -> Job:
        def final():
            job.refresh_from_db()
            return job.status in FINAL_STATUSES and not any(t.is_alive() for t in self.runs)

        wait_for(final, timeout, f"job {job.uid} finished")
        return job

    def console_get(self, path: str) -> requests.Response:
        """GET a console page from the live Mate server, signed in as the tenant's owner."""
        client = Client()
        client.force_login(self.owner)
        name = django_settings.SESSION_COOKIE_NAME
        cookies = {name: client.cookies[name].value}
        return requests.get(f"{self.mate.url}{path}", cookies=cookies, timeout=30)

    def containers_of(self, job: Job) -> list:
        return self.docker.containers.list(
            all=True, filters={"label": f"{hardening.LABEL_JOB}={job.uid}"}
        )


@pytest.fixture
def e2e_world(
    docker_client,
    agent_image,
    gateway,
    _scope_volumes,
    settings,
    monkeypatch,
    llm_sim_factory,
):
    from jobs.services import lifecycle
    from mate.celery import app
    from tenants import services
    from tests.tenants.factories import UserFactory

    llm_key = f"sk-ant-api03-e2e-{secrets.token_urlsafe(24)}"
    llm = llm_sim_factory(host=gateway, script="note", api_key=llm_key)
    sim = GitLabSim(host=gateway).start()
    mate = MateServer(gateway).start()

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, gateway]
    settings.MATE_TOOL_BASE_URL = mate.url
    settings.MATE_ANTHROPIC_BASE_URL = llm.url
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    settings.MATE_AGENT_IMAGE = agent_image
    settings.MATE_CONTAINER_SCOPE = SCOPE
    app.conf.task_always_eager = True

    runs: list[threading.Thread] = []
    real_enqueue = lifecycle.enqueue_run

    def enqueue_in_background(job_id: int) -> None:
        def work():
            try:
                real_enqueue(job_id)  # run_job.delay(job_id): eager, so it runs here
            finally:
                connection.close()

        thread = threading.Thread(target=work, name=f"run-job-{job_id}", daemon=True)
        runs.append(thread)
        thread.start()

    monkeypatch.setattr(lifecycle, "enqueue_run", enqueue_in_background)

    bot_user = sim.add_user("mate-bot", "Mate Bot")
    human = sim.add_user("alice", "Alice Maintainer")
    pat = sim.add_pat(bot_user, scopes=["api"], name="mate")
    project = sim.add_project(
        "acme/widgets",
        files={"README.md": "# Widgets\n", "src/widgets.py": "def area(w, h):\n    return w * h\n"},
        members={bot_user: 40, human: 40},
    )
    sim.add_issue(project, ISSUE_TITLE, "They wobble. Please have a look.", human)
    owner = UserFactory()
    tenant, secret = services.create_tenant(user=owner, name="E2E", gitlab_url=sim.url)
    services.register_bot(tenant=tenant, token=pat)
    services.set_llm_credential(tenant=tenant, provider="anthropic", key=llm_key)
    services.save_config(tenant=tenant, text=TENANT_CONFIG, author=owner)
    sim.add_hook(project, f"{mate.url}/hook/{tenant.uid}", token=secret)
    tenant.refresh_from_db()

    world = E2EWorld(
        sim, llm, mate, tenant, owner, project, bot_user, human, llm_key, docker_client, runs
    )
    try:
        yield world
    finally:
        deadline = time.monotonic() + 60
        for thread in runs:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        app.conf.task_always_eager = False
        mate.stop()
        sim.stop()
        leftovers = docker_client.containers.list(
            all=True, filters={"label": [hardening.LABEL_JOB, f"{hardening.LABEL_SCOPE}={SCOPE}"]}
        )
        for container in leftovers:
            container.remove(force=True)
        errors = list(sim.server_errors)
        assert not any(t.is_alive() for t in runs), "a job thread is still running"
        assert not leftovers, f"containers left behind: {[c.name for c in leftovers]}"
        assert not errors, "GitLab simulator raised:\n" + "\n".join(errors)
