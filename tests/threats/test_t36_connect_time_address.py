"""T36: DNS rebinding or non-global addresses behind the GitLab URL.

Name resolution is the test's (``tests.tenants.netfakes.FakeDNS``: no query leaves) and so is
``connect``: every attempt is recorded and anything but 127.0.0.1 is refused before a packet is
sent. The GitLab simulator on 127.0.0.1 plays the internal service an attacker wants to reach; it
records every request and the token it carried.

* ``gitlab.rebind.example`` answers a public address first and 127.0.0.1 afterwards (a rebinding
  DNS server). Registering a bot through the console and a job's client from the real factory
  resolve it once, check that answer and connect to it: the one connection attempt goes to the
  checked public address (refused by the guard), none to loopback, and the simulator never sees
  the token.
* 100.64.0.1 (shared address space), 100.100.100.200 (Alibaba's metadata) and fec0::1 (IPv6
  site-local, which Python 3.11 calls global) are refused when the URL is saved (new tenant, URL
  change, a name resolving there) and, for a URL stored before the rule, when a client would
  connect: no socket is opened.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from django.test import Client
from django.urls import reverse

from jobs import credentials
from jobs.credentials import CredentialError
from jobs.models import Job, JobStatus
from tenants.models import Role, Tenant
from tests.gitlab_sim import GitLabSim
from tests.tenants import netfakes
from tests.tenants.factories import TenantFactory, UserFactory, make_bot, make_default, member

pytestmark = pytest.mark.django_db

REBIND = "gitlab.rebind.example"
NON_GLOBAL = ["100.64.0.1", "100.100.100.200", "fec0::1"]


@pytest.fixture
def sim(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = False  # a SaaS install: global addresses only
    server = GitLabSim().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def net(monkeypatch):
    dns = netfakes.install(monkeypatch)
    guard = netfakes.guard_connect(monkeypatch)
    return dns, guard


def job_for(tenant: Tenant, project) -> Job:
    return Job.objects.create(
        tenant=tenant,
        event_key=uuid.uuid4().hex,
        event="issue_assigned",
        bot_username="mate-bot",
        agent="helper",
        trigger="tenant[0]",
        project_id=project.id,
        project_path=project.path_with_namespace,
        object_kind="issue",
        object_iid=1,
        loop_key="issue/1",
        status=JobStatus.RUNNING,
        uses_bot_pat=True,
        snapshot={"authorities": ["read"], "project": {"id": project.id}, "bot": "mate-bot"},
    )


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("console:home"))
    return client


def post(client: Client, path: str, data: dict):
    return client.post(path, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_a_name_rebound_to_loopback_never_gets_a_token_bearing_connection(sim, net):
    dns, guard = net
    bot_user = sim.add_user("mate-bot")
    pat = sim.add_pat(bot_user, scopes=["api"])
    project = sim.add_project("acme/widget", members={bot_user: 40})
    base = f"http://{REBIND}:{sim.port}"
    tenant = TenantFactory(gitlab_url=base)
    operator = member(tenant, Role.OPERATOR, username="oscar")
    make_default(make_bot(tenant, "mate-bot", token=pat, gitlab_user_id=bot_user.id))

    # Registering a bot through the console: the token is checked on the tenant's GitLab.
    dns.set(REBIND, [netfakes.PUBLIC], ["127.0.0.1"])
    client = signed_in(operator)
    add = reverse("console:bot_add", kwargs={"tenant": tenant.uid})
    answer = post(client, add, {"token": pat})
    assert sim.requests == []  # the token never reached loopback
    assert answer.status_code == 400
    assert "Could not reach GitLab" in answer.content.decode()
    assert guard.non_loopback() == [netfakes.PUBLIC]  # the checked address, refused by the guard
    assert dns.lookups == [REBIND]  # resolved once

    # A job's client from the real factory (the bot PAT, server-side).
    dns.lookups.clear()
    guard.attempts.clear()
    dns.set(REBIND, [netfakes.PUBLIC], ["127.0.0.1"])
    gl = credentials.gitlab_client_for(job_for(tenant, project))
    with pytest.raises(requests.exceptions.ConnectionError):
        gl.projects.get(project.id)
    assert sim.requests == []
    assert guard.attempts == [netfakes.PUBLIC]
    assert dns.lookups == [REBIND]

    assert sim.requests == []  # not one request reached loopback, with a token or without
    assert "127.0.0.1" not in guard.attempts


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_non_global_addresses_are_refused_when_the_url_is_saved(sim, net, address):
    dns, guard = net
    literal = f"[{address}]" if ":" in address else address
    owner = UserFactory(username="olivia")
    client = signed_in(owner)
    for url in [f"https://{literal}", "https://gitlab.inside.example"]:
        dns.set("gitlab.inside.example", [address])
        created = post(
            client,
            reverse("console:tenant_create"),
            {"name": "Acme", "gitlab_url": url, "plan": "starter"},
        )
        assert created.status_code == 400
        assert f"resolves to {address}" in created.content.decode()
    assert not Tenant.objects.exists()

    tenant = TenantFactory(name="Acme", gitlab_url="https://gitlab.example.com")
    member(tenant, Role.OWNER, user=owner)
    dns.set("gitlab.example.com", [netfakes.PUBLIC])
    change = reverse("console:settings_gitlab_url", kwargs={"tenant": tenant.uid})
    for url in [f"https://{literal}", "https://gitlab.inside.example"]:
        for confirm in ({}, {"confirm": "True"}):
            refused = post(client, change, {"gitlab_url": url, **confirm})
            assert refused.status_code == 400
            assert f"resolves to {address}" in refused.content.decode()
    tenant.refresh_from_db()
    assert tenant.gitlab_url == "https://gitlab.example.com"
    assert guard.attempts == []


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_a_stored_non_global_url_gets_no_socket_at_connect(sim, net, address):
    """A URL saved before the rule (or behind the services' back): refused when connecting."""
    dns, guard = net
    bot_user = sim.add_user("mate-bot")
    pat = sim.add_pat(bot_user, scopes=["api"])
    project = sim.add_project("acme/widget", members={bot_user: 40})
    literal = f"[{address}]" if ":" in address else address
    for base in [f"http://{literal}:{sim.port}", f"http://gitlab.inside.example:{sim.port}"]:
        dns.set("gitlab.inside.example", [address])
        tenant = TenantFactory(gitlab_url=base)
        make_default(make_bot(tenant, "mate-bot", token=pat, gitlab_user_id=bot_user.id))
        with pytest.raises(CredentialError, match=f"resolves to {address}"):
            credentials.gitlab_client_for(job_for(tenant, project))
    assert guard.attempts == [] and sim.requests == []
