"""T35: an operator or support staff redirects the bot PAT to a host they control by changing the
GitLab URL.

Two simulators run on 127.0.0.1: ``old``, the GitLab the bot was registered on (where a running
job holds a per-job key and a clone token minted from its PAT), and ``new``, a host the attacker
controls, which records every request and the token it carried. The URL is changed through the
real console endpoints (signed-in members, the settings forms) and Django admin, or behind the
services' back; then every path that sends a GitLab token (the tool service's client factory,
minting, routing's reads, the revocation reconciler) is driven. ``new`` never sees the old PAT or
a token minted from it:

* an operator gets 403 from the owner-only URL change, and the general form ignores a URL;
* an owner is told what the change does before confirming; it revokes the minted tokens at the old
  GitLab, then erases every bot's PAT (the bots must be registered again);
* a URL changed without the service (a raw update, as an editable admin would make) still sends
  nothing: each bot's tokens go only to the URL it was registered on;
* in admin the GitLab URL and the bot fields are read-only; staff membership changes are logged.
"""

from __future__ import annotations

import logging
import uuid

import gitlab
import pytest
import requests
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from jobs import credentials
from jobs.credentials import CredentialError
from jobs.models import Job, JobStatus, JobToken
from jobs.routing.gitlab_reads import BotReader, GitLabReadError
from tenants import services
from tenants.gitlab import GitLabURLError, bot_client
from tenants.models import Bot, Membership, Role, Tenant
from tests.gitlab_sim import GitLabSim
from tests.tenants.factories import UserFactory, member

pytestmark = pytest.mark.django_db


class World:
    def __init__(self, old: GitLabSim) -> None:
        self.old = old
        human = old.add_user("olivia")
        self.bot_user = old.add_user("mate-bot")
        self.pat = old.add_pat(self.bot_user, scopes=["api"])
        self.project = old.add_project(
            "acme/widget", members={self.bot_user: 40, human: 40}, files={"README.md": "x"}
        )
        self.owner = UserFactory(username="olivia")
        self.tenant, _ = services.create_tenant(user=self.owner, name="Acme", gitlab_url=old.url)
        self.operator = member(self.tenant, Role.OPERATOR, username="oscar")
        self.bot = services.register_bot(tenant=self.tenant, token=self.pat)
        self.job = self.new_job()
        self.key = credentials.mint_gitlab_key(self.job)
        self.minted = [self.secret(self.key), credentials.mint_clone_token(self.job)]

    @staticmethod
    def secret(token: JobToken) -> str:
        return JobToken.objects.get(pk=token.pk).reveal_secret("value")

    def new_job(self, **fields) -> Job:
        return Job.objects.create(
            tenant=self.tenant,
            event_key=uuid.uuid4().hex,
            event="issue_assigned",
            bot_username="mate-bot",
            agent="helper",
            trigger="tenant[0]",
            project_id=self.project.id,
            project_path=self.project.path_with_namespace,
            object_kind="issue",
            object_iid=1,
            loop_key="issue/1",
            status=JobStatus.RUNNING,
            snapshot={
                "authorities": ["read", "comment"],
                "project": {"id": self.project.id, "path": self.project.path_with_namespace},
                "timeout_seconds": 600,
                "bot": "mate-bot",
            },
            **fields,
        )

    def drive_every_token_path(self) -> list[str]:
        """Everything Mate does with GitLab tokens for this tenant; returns the refusals."""
        refusals = []
        fresh = Job.objects.select_related("tenant").get(pk=self.job.pk)
        pat_job = self.new_job(uses_bot_pat=True)
        calls = [
            lambda: credentials.gitlab_client_for(fresh).projects.get(self.project.id),
            lambda: credentials.gitlab_client_for(pat_job).projects.get(self.project.id),
            lambda: credentials.mint_gitlab_key(self.new_job()),
            lambda: BotReader(fresh.tenant, Bot.objects.get(pk=self.bot.pk)).project_visible(
                self.project.id
            ),
            # A stale in-memory copy of the bot, its old PAT and a minted key in hand.
            lambda: bot_client(self.bot, self.pat).http_get("/user"),
            lambda: bot_client(self.bot, self.minted[0]).http_get("/user"),
        ]
        for call in calls:
            try:
                call()
            except (CredentialError, GitLabReadError, GitLabURLError) as exc:
                refusals.append(str(exc))
            except (gitlab.GitlabError, requests.RequestException) as exc:
                refusals.append(f"sent, and GitLab answered {exc!r}")  # never on the new host
        credentials.revoke_due_tokens()
        return refusals

    def leaked_to(self, sim: GitLabSim) -> set[str]:
        secrets = {self.pat, *self.minted}
        return {r.token for r in sim.requests if r.token} & secrets


@pytest.fixture
def sims(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    old, new = GitLabSim().start(), GitLabSim().start()
    try:
        yield old, new
    finally:
        old.stop()
        new.stop()


@pytest.fixture
def world(sims) -> World:
    return World(sims[0])


def url(name: str, tenant: Tenant) -> str:
    return reverse(f"console:{name}", kwargs={"tenant": tenant.uid})


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(url("settings", Membership.objects.filter(user=user).first().tenant))
    return client


def post(client: Client, path: str, data: dict):
    return client.post(path, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_an_operator_cannot_point_the_bot_pat_at_another_host(world, sims):
    _, new = sims
    operator = signed_in(world.operator)
    change = url("settings_gitlab_url", world.tenant)
    assert operator.get(change).status_code == 403
    assert post(operator, change, {"gitlab_url": new.url}).status_code == 403
    assert post(operator, change, {"gitlab_url": new.url, "confirm": "True"}).status_code == 403
    general = {"name": "Acme", "gitlab_url": new.url, "mate_filename": ".mate.yml"}
    assert post(operator, url("settings_general", world.tenant), general).status_code == 302
    world.tenant.refresh_from_db()
    assert world.tenant.gitlab_url == world.old.url
    assert world.drive_every_token_path() == []  # all of it still works, on the old GitLab
    assert world.leaked_to(new) == set() and new.requests == []
    assert world.pat in {r.token for r in world.old.requests}


def test_owner_is_warned_then_minted_tokens_are_revoked_and_bot_tokens_erased(world, sims):
    old, new = sims
    owner = signed_in(world.owner)
    change = url("settings_gitlab_url", world.tenant)
    asked = post(owner, change, {"gitlab_url": new.url + "/"})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert f"Change the GitLab URL to {new.url}?" in page
    assert "erases the token of every bot" in page and "@mate-bot" in page
    assert "2 not yet revoked" in page and "registered again" in page
    world.tenant.refresh_from_db()
    assert world.tenant.gitlab_url == old.url  # nothing changes before the owner confirms

    done = post(owner, change, {"gitlab_url": new.url, "confirm": "True"})
    assert done.status_code == 302
    world.tenant.refresh_from_db()
    assert world.tenant.gitlab_url == new.url
    assert all(old.token_record(value).revoked for value in world.minted)
    assert not Bot.objects.get(pk=world.bot.pk).has_secret("token")
    notice = owner.get(url("settings", world.tenant)).content.decode()
    assert "@mate-bot were erased" in notice and "2 job token(s) were revoked" in notice

    refusals = world.drive_every_token_path()
    assert world.leaked_to(new) == set() and new.requests == []
    assert len(refusals) == 6 and not any(r.startswith("sent") for r in refusals), refusals
    assert all(world.pat not in text and world.minted[0] not in text for text in refusals)


def test_a_url_changed_behind_the_services_back_gets_no_token(world, sims):
    """Whatever path changes the URL (an editable admin, a script), the bot's PAT and the keys
    minted from it go only to the GitLab the bot was registered on."""
    _, new = sims
    Tenant.objects.filter(pk=world.tenant.pk).update(gitlab_url=new.url)
    refusals = world.drive_every_token_path()
    assert world.leaked_to(new) == set() and new.requests == []
    assert len(refusals) == 6 and not any(r.startswith("sent") for r in refusals), refusals
    assert any("register the bot again" in text for text in refusals)


def test_admin_shows_the_gitlab_url_and_bot_fields_read_only(world, sims):
    _, new = sims
    staff = UserFactory(username="sam", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    tenant_page = reverse("admin:tenants_tenant_change", args=[world.tenant.pk])
    html = client.get(tenant_page).content.decode()
    assert 'name="gitlab_url"' not in html and world.old.url in html
    form = {
        "name": "Acme",
        "gitlab_url": new.url,
        "plan": world.tenant.plan,
        "mates": 1,
        "mate_filename": ".mate.yml",
    }
    assert client.post(tenant_page, form).status_code == 302  # saved: every other field
    world.tenant.refresh_from_db()
    assert world.tenant.gitlab_url == world.old.url
    bot_page = client.get(reverse("admin:tenants_bot_change", args=[world.bot.pk]))
    html = bot_page.content.decode()
    assert world.old.url in html  # the URL the bot was registered on is shown
    for field in ["gitlab_url", "username", "gitlab_user_id", "scopes", "tenant"]:
        assert f'name="{field}"' not in html
    bot_form = {"gitlab_url": new.url, "username": "x", "gitlab_user_id": 1, "tenant": 1}
    assert client.post(bot_page.request["PATH_INFO"], bot_form).status_code == 403
    assert Bot.objects.get(pk=world.bot.pk).gitlab_url == world.old.url
    assert world.drive_every_token_path() == []
    assert new.requests == []


def test_staff_membership_changes_are_logged(world, caplog):
    staff = UserFactory(username="sam", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    membership = Membership.objects.get(user=world.operator, tenant=world.tenant)
    page = reverse("admin:tenants_membership_change", args=[membership.pk])
    data = {"user": world.operator.pk, "tenant": world.tenant.pk, "role": Role.OWNER}
    with caplog.at_level(logging.INFO, logger="tenants.admin"):
        assert client.post(page, data).status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER
    assert "staff sam changed membership of oscar in tenant Acme" in caplog.text
    assert "role operator -> owner" in caplog.text
    entry = LogEntry.objects.get(object_id=str(membership.pk))
    assert entry.user == staff and "Role" in entry.get_change_message()
