"""SPEC §1 (T35): changing a tenant's GitLab URL, and registering its bots again afterwards.

Two simulators on 127.0.0.1 stand for the old and the new GitLab (services level; the console
and the threat itself: tests/threats/test_t35_gitlab_url_binding.py)."""

from __future__ import annotations

import pytest

from tenants import services
from tenants.gitlab import GitLabURLError, bot_client
from tenants.models import Bot
from tests.gitlab_sim import GitLabSim
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    old, new = GitLabSim().start(), GitLabSim().start()
    try:
        yield old, new
    finally:
        old.stop()
        new.stop()


def registered(sim: GitLabSim, tenant, name: str = "mate-bot") -> tuple[Bot, str]:
    pat = sim.add_pat(sim.add_user(name), scopes=["api"])
    return services.register_bot(tenant=tenant, token=pat), pat


def test_a_bot_records_the_url_its_token_was_checked_on(two):
    old, _ = two
    tenant = TenantFactory(gitlab_url=old.url + "/")
    bot, _ = registered(old, tenant)
    assert bot.gitlab_url == old.url


def test_url_change_erases_every_bot_token_and_reports_it(two):
    old, new = two
    tenant = TenantFactory(gitlab_url=old.url)
    first, _ = registered(old, tenant, "mate-bot")
    second, _ = registered(old, tenant, "review-bot")
    assert services.url_change_impact(tenant).bots == ["mate-bot", "review-bot"]
    change = services.change_gitlab_url(tenant=tenant, gitlab_url=new.url)
    assert (change.old_url, change.new_url) == (old.url, new.url)
    assert change.bots_erased == ["mate-bot", "review-bot"]
    for bot in (first, second):
        bot.refresh_from_db()
        assert not bot.has_secret("token") and bot.registered_elsewhere
        with pytest.raises(GitLabURLError, match="register the bot again under Bots"):
            bot_client(bot)
    assert services.change_gitlab_url(tenant=tenant, gitlab_url=new.url + "/") is None


def test_a_bot_is_registered_again_on_the_new_url(two):
    """Same GitLab under a new name (same user ids) or another GitLab: Add bot and Replace token
    both register the bot again, bound to the new URL."""
    old, new = two
    tenant = TenantFactory(gitlab_url=old.url)
    bot, _ = registered(old, tenant)
    services.change_gitlab_url(tenant=tenant, gitlab_url=new.url)
    again, pat = registered(new, tenant)
    assert again.pk == bot.pk or Bot.objects.for_tenant(tenant).count() == 2
    again.refresh_from_db()
    assert again.gitlab_url == new.url and again.reveal_secret("token") == pat
    bot_client(again).http_get("/user")
    assert new.requests[-1].token == pat


def test_replace_token_registers_a_moved_bot_again(two):
    old, new = two
    tenant = TenantFactory(gitlab_url=old.url)
    bot, _ = registered(old, tenant)
    services.change_gitlab_url(tenant=tenant, gitlab_url=new.url)
    bot.refresh_from_db()
    other = new.add_user("someone-else")
    pat = new.add_pat(other, scopes=["api"])
    replaced = services.replace_bot_token(bot=bot, token=pat)
    assert (replaced.gitlab_url, replaced.gitlab_user_id) == (new.url, other.id)
    assert not replaced.registered_elsewhere


def test_a_url_that_cannot_pass_is_refused_when_saved(settings, fake_dns):
    settings.MATE_ALLOW_PRIVATE_GITLAB = False
    tenant = TenantFactory()
    fake_dns.set("gitlab.cgnat.example", ["100.64.0.7"])
    with pytest.raises(services.SettingsError, match="resolves to 100.64.0.7") as raised:
        services.change_gitlab_url(tenant=tenant, gitlab_url="https://gitlab.cgnat.example")
    assert raised.value.field == "gitlab_url"
    with pytest.raises(services.SettingsError, match="MATE_ALLOW_PRIVATE_GITLAB=1"):
        services.create_tenant(user=None, name="x", gitlab_url="https://[fec0::1]")
    tenant.refresh_from_db()
    assert tenant.gitlab_url == "https://gitlab.example.com"
