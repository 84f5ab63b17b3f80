"""T34: one stranger's failures never lock out other tenants behind a shared GitLab address.

GitLab.com and shared instances send every customer's hooks from a few addresses. Here the
simulator (127.0.0.1) sends everything: a stranger's project hook points at tenant A's URL with a
wrong secret and fires 30 times (MATE_WEBHOOK_FAILURES_PER_MINUTE, default 30), then once more
(429: the failures of that address for that tenant id are limited). From the same address the
valid hooks of tenant B and of tenant A itself are then answered 200 and stored, and a wrong
secret for tenant B is the ordinary 401, not 429: failures are counted per (address, tenant id)
and a delivery with valid credentials is never refused by them (SPEC §5.1).

The tool API does the same for job credentials (SPEC §7.2): 30 bad credentials from one address,
the 31st is answered ``rate_limit``, and a valid job credential from that address still works.
"""

from __future__ import annotations

import pytest

from jobs.models import Delivery
from tenants import services
from tests.tenants.factories import UserFactory
from tests.toolservice.conftest import World, _tool_service_urls, world

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

FAILURES_PER_MINUTE = 30  # the defaults of MATE_WEBHOOK_/MATE_TOOL_AUTH_FAILURES_PER_MINUTE


def _tenant(sim, live_server, path: str, bot_name: str):
    """A Mate tenant with its own bot and a GitLab project whose hook carries its secret."""
    bot = sim.add_user(bot_name)
    human = sim.add_user(f"{bot_name}-human")
    project = sim.add_project(path, members={bot: 40, human: 40}, files={"README.md": "x"})
    tenant, secret = services.create_tenant(user=UserFactory(), name=path, gitlab_url=sim.url)
    services.register_bot(tenant=tenant, token=sim.add_pat(bot, scopes=["api"]))
    sim.add_hook(project, f"{live_server.url}/hook/{tenant.uid}", token=secret)
    return tenant, project, human


def _open_issue(sim, project, human, title: str):
    (delivery,) = sim.open_issue(project, title, human)
    return delivery


@pytest.mark.django_db(transaction=True)
def test_a_strangers_bad_hooks_leave_every_valid_hook_accepted(
    gitlab_sim, live_server, settings, monkeypatch
):
    assert settings.MATE_WEBHOOK_FAILURES_PER_MINUTE == FAILURES_PER_MINUTE
    monkeypatch.setattr("jobs.tasks.process_delivery.delay", lambda delivery_id: None)
    sim = gitlab_sim
    tenant_a, project_a, alice = _tenant(sim, live_server, "acme/widget", "acme-bot")
    tenant_b, project_b, bob = _tenant(sim, live_server, "beta/app", "beta-bot")
    stranger = sim.add_user("stranger")
    theirs = sim.add_project("stranger/app", members={stranger: 50}, files={"README.md": "x"})
    sim.add_hook(theirs, f"{live_server.url}/hook/{tenant_a.uid}", token="a-wrong-secret")

    bad = [_open_issue(sim, theirs, stranger, f"spam {n}") for n in range(FAILURES_PER_MINUTE)]
    assert [d.status for d in bad] == [401] * FAILURES_PER_MINUTE
    assert {d.response_body for d in bad} == {b""}
    assert _open_issue(sim, theirs, stranger, "one more").status == 429

    other_tenant = _open_issue(sim, project_b, bob, "B's real issue")
    same_tenant = _open_issue(sim, project_a, alice, "A's real issue")
    assert (other_tenant.status, same_tenant.status) == (200, 200)
    assert Delivery.objects.filter(tenant=tenant_b).count() == 1
    assert Delivery.objects.filter(tenant=tenant_a).count() == 1

    # Tenant B's own failures from that address are counted apart: still the plain 401.
    sim.add_hook(project_b, f"{live_server.url}/hook/{tenant_b.uid}", token="b-old-secret")
    statuses = sorted(d.status for d in sim.open_issue(project_b, "two hooks", bob))
    assert statuses == [200, 401]


@pytest.mark.django_db
def test_bad_job_credentials_never_refuse_a_valid_one_from_the_same_address(world: World, settings):
    assert settings.MATE_TOOL_AUTH_FAILURES_PER_MINUTE == FAILURES_PER_MINUTE
    _, token = world.job(("read",))
    _, second = world.job(("read",))
    stranger = world.client("mjt_" + "x" * 43)
    answers = [stranger.get("/tools/") for _ in range(FAILURES_PER_MINUTE)]
    assert [a.status_code for a in answers] == [401] * FAILURES_PER_MINUTE
    blocked = stranger.post("/tools/get_job_context", {}, format="json")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["category"] == "rate_limit"

    for credential in (token, second):
        client = world.client(credential)
        assert client.get("/tools/").status_code == 200
        called = client.post("/tools/get_job_context", {}, format="json")
        assert called.status_code == 200, called.content
    assert stranger.get("/tools/").status_code == 429  # the stranger stays limited
