"""A GitLab world wired to a live Mate: the simulator sends real webhooks to the live server and
Celery runs tasks eagerly (on commit), so a delivery is routed before the webhook answers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tenants import services
from tenants.models import Tenant
from tests.tenants.factories import UserFactory

TENANT_CONFIG = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help with the issue.
    permissions: [read, comment, push_branch, open_mr]
triggers:
  - on: issue_assigned
    agent: helper
  - on: mr_opened
    agent: helper
  - on: mr_assigned
    agent: helper
  - on: comment_mention
    agent: helper
  - on: label_applied
    agent: helper
    label: [mate]
  - on: pipeline_failed
    agent: helper
"""


@dataclass
class World:
    sim: object
    tenant: Tenant
    project: object
    bot: object
    human: object
    owner: object

    def config(self, text: str) -> None:
        services.save_config(tenant=self.tenant, text=text, author=self.owner)


@pytest.fixture
def eager_celery():
    from mate.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def world(gitlab_sim, live_server, settings, eager_celery, monkeypatch) -> World:
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    # Routing queues run_job for STARTING jobs; these tests stop at routing, so jobs stay
    # STARTING instead of running eagerly (tests/runner covers running them).
    monkeypatch.setattr("jobs.services.lifecycle.enqueue_run", lambda job_id: None)
    sim = gitlab_sim
    # A regular GitLab account used as a bot (as operators do); GitLab refuses token minting
    # to project-bot users, which is what bot=True models in the simulator.
    bot_user = sim.add_user("mate-bot")
    human = sim.add_user("alice")
    pat = sim.add_pat(bot_user, scopes=["api"])
    project = sim.add_project(
        "acme/widget", members={bot_user: 40, human: 40}, files={"README.md": "# widget\n"}
    )
    owner = UserFactory()
    tenant, secret = services.create_tenant(user=owner, name="Acme", gitlab_url=sim.url)
    services.register_bot(tenant=tenant, token=pat)
    services.save_config(tenant=tenant, text=TENANT_CONFIG, author=owner)
    sim.add_hook(project, f"{live_server.url}/hook/{tenant.uid}", token=secret)
    tenant.refresh_from_db()
    return World(sim, tenant, project, bot_user, human, owner)


def random_branch() -> str:
    return f"feature/{secrets.token_hex(3)}"
