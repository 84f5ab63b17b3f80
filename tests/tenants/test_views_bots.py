"""Bots page: list with expiry flags, add by PAT (against the GitLab simulator), replace, remove,
default; viewers see the list only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tenants.models import Bot, Role
from tenants.views.bots import expiry_flag
from tests.tenants.factories import TenantFactory, make_bot, make_default, member

pytestmark = pytest.mark.django_db


def bots_url(tenant):
    return reverse("console:bots", kwargs={"tenant": tenant.uid})


def bot_url(name, bot):
    return reverse(f"console:{name}", kwargs={"tenant": bot.tenant.uid, "bot": bot.uid})


@pytest.fixture
def sim_tenant(gitlab_sim, settings, db):
    """A tenant on the simulator (127.0.0.1, so private GitLab addresses are allowed)."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    tenant = TenantFactory(gitlab_url=gitlab_sim.url)
    return tenant, member(tenant, Role.OPERATOR)


# -- list ----------------------------------------------------------------------------------


def test_list_shows_bots_with_facts_flags_and_default(as_user, world):
    today = timezone.now().date()
    soon = make_bot(world.tenant, "soon-bot", token_expires_on=today + timedelta(days=5))
    make_bot(
        world.tenant,
        "old-bot",
        token_expires_on=today - timedelta(days=1),
        scopes=["api", "read_user"],
    )
    make_bot(world.tenant, "forever-bot", token_expires_on=None)
    response = as_user(world.viewer).get(bots_url(world.tenant))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ["@mate-bot", "@soon-bot", "@old-bot", "@forever-bot"]:
        assert name in html
    assert str(soon.gitlab_user_id) in html
    assert "read_user" in html
    assert 'class="badge bad">expires in 5 days' in html
    assert 'class="badge bad">expired' in html
    assert "never" in html
    assert 'class="badge ok">default' in html
    assert "@other-bot" not in html


def test_viewer_sees_no_forms(as_user, world):
    html = as_user(world.viewer).get(bots_url(world.tenant)).content.decode()
    assert 'type="password"' not in html
    assert "Add a bot" not in html
    assert "Replace token" not in html and "Make default" not in html


def test_operator_sees_the_forms_with_a_write_only_token_field(as_user, world):
    html = as_user(world.operator).get(bots_url(world.tenant)).content.decode()
    assert 'type="password"' in html and 'autocomplete="off"' in html
    assert "Add a bot" in html and "Replace token" in html and "Remove…" in html
    assert world.bot.reveal_secret("token") not in html


@pytest.mark.parametrize(
    ("days", "flag"),
    [
        (None, ""),
        (30, ""),
        (15, ""),
        (14, "expires in 14 days"),
        (1, "expires in 1 day"),
        (0, "expired"),
        (-3, "expired"),
    ],
)
def test_expiry_flag(days, flag):
    today = timezone.now().date()
    bot = Bot(token_expires_on=None if days is None else today + timedelta(days=days))
    assert expiry_flag(bot, today) == flag


# -- add -----------------------------------------------------------------------------------


def test_add_registers_the_bot_and_never_shows_the_token(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    user = gitlab_sim.add_user("review-bot", bot=True)
    expires = timezone.now().date() + timedelta(days=60)
    token = gitlab_sim.add_pat(user, scopes=["api", "read_repository"], expires_at=expires)
    client = as_user(operator)
    response = client.post(
        reverse("console:bot_add", kwargs={"tenant": tenant.uid}), {"token": token}
    )
    assert response.status_code == 302
    bot = Bot.objects.get(tenant=tenant)
    assert (bot.username, bot.gitlab_user_id, bot.token_expires_on) == (
        "review-bot",
        user.id,
        expires,
    )
    assert bot.scopes == ["api", "read_repository"]
    assert bot.reveal_secret("token") == token
    tenant.refresh_from_db()
    assert tenant.default_bot == bot  # the first bot is the default
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Bot @review-bot registered." in html
    assert token not in html
    for name in ["overview", "settings", "config"]:
        url = reverse(f"console:{name}", kwargs={"tenant": tenant.uid})
        assert token not in client.get(url).content.decode()


def test_add_refuses_a_token_without_api_scope(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    token = gitlab_sim.add_pat(gitlab_sim.add_user("weak-bot"), scopes=["read_api"])
    response = as_user(operator).post(
        reverse("console:bot_add", kwargs={"tenant": tenant.uid}), {"token": token}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "lacks the api scope" in html
    assert token not in html  # the field is never re-filled
    assert not Bot.objects.filter(tenant=tenant).exists()


def test_add_refuses_a_blocked_account(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    user = gitlab_sim.add_user("sleepy-bot")
    token = gitlab_sim.add_pat(user)
    gitlab_sim.set_user_state(user, "blocked")
    response = as_user(operator).post(
        reverse("console:bot_add", kwargs={"tenant": tenant.uid}), {"token": token}
    )
    assert response.status_code == 400
    assert token not in response.content.decode()
    assert not Bot.objects.filter(tenant=tenant).exists()


def test_add_refuses_an_unknown_token(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    response = as_user(operator).post(
        reverse("console:bot_add", kwargs={"tenant": tenant.uid}),
        {"token": "glpat-doesnotexist000000"},
    )
    assert response.status_code == 400
    assert "GitLab rejected the token (401)" in response.content.decode()


def test_add_with_an_empty_token_rerenders_the_form(as_user, world):
    response = as_user(world.operator).post(
        reverse("console:bot_add", kwargs={"tenant": world.tenant.uid}), {"token": ""}
    )
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert Bot.objects.filter(tenant=world.tenant).count() == 1


def test_add_refuses_the_same_account_twice(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    user = gitlab_sim.add_user("twice-bot")
    client = as_user(operator)
    url = reverse("console:bot_add", kwargs={"tenant": tenant.uid})
    assert client.post(url, {"token": gitlab_sim.add_pat(user)}).status_code == 302
    response = client.post(url, {"token": gitlab_sim.add_pat(user)})
    assert response.status_code == 400
    assert "already a bot of this tenant" in response.content.decode()


# -- replace -------------------------------------------------------------------------------


def test_replace_token_of_the_same_user(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    user = gitlab_sim.add_user("rotating-bot")
    bot = make_bot(tenant, "rotating-bot", gitlab_user_id=user.id, token="glpat-old-old-old-old-0")
    new = gitlab_sim.add_pat(user, expires_at=timezone.now().date() + timedelta(days=200))
    client = as_user(operator)
    response = client.post(bot_url("bot_replace", bot), {f"{bot.uid}-token": new})
    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.reveal_secret("token") == new
    assert bot.token_expires_on == timezone.now().date() + timedelta(days=200)
    assert new not in client.get(response["Location"]).content.decode()


def test_replace_refuses_a_token_of_another_user(as_user, gitlab_sim, sim_tenant):
    tenant, operator = sim_tenant
    mine = gitlab_sim.add_user("mine-bot")
    bot = make_bot(tenant, "mine-bot", gitlab_user_id=mine.id, token="glpat-keep-keep-keep-00")
    theirs = gitlab_sim.add_pat(gitlab_sim.add_user("someone-else"))
    response = as_user(operator).post(bot_url("bot_replace", bot), {f"{bot.uid}-token": theirs})
    assert response.status_code == 400
    html = response.content.decode()
    assert "belongs to @someone-else, not @mine-bot" in html
    assert theirs not in html
    bot.refresh_from_db()
    assert bot.reveal_secret("token") == "glpat-keep-keep-keep-00"


def test_replace_with_an_empty_token_is_400(as_user, world):
    response = as_user(world.operator).post(bot_url("bot_replace", world.bot), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


# -- default and remove --------------------------------------------------------------------


def test_make_default(as_user, world):
    second = make_bot(world.tenant, "second-bot")
    response = as_user(world.operator).post(bot_url("bot_default", second))
    assert response.status_code == 302
    world.tenant.refresh_from_db()
    assert world.tenant.default_bot == second


def test_remove_asks_then_removes_and_picks_a_new_default(as_user, world):
    second = make_bot(world.tenant, "second-bot")
    client = as_user(world.operator)
    confirm = client.get(bot_url("bot_remove", world.bot))
    assert confirm.status_code == 200
    assert b"Remove bot @mate-bot?" in confirm.content
    response = client.post(bot_url("bot_remove", world.bot))
    assert response.status_code == 302
    assert not Bot.objects.filter(pk=world.bot.pk).exists()
    world.tenant.refresh_from_db()
    assert world.tenant.default_bot == second
    assert b"Bot @mate-bot removed" in client.get(response["Location"]).content


def test_the_default_bot_is_marked_once(as_user, db):
    tenant = TenantFactory()
    user = member(tenant, Role.VIEWER)
    make_bot(tenant, "a-bot")
    make_default(make_bot(tenant, "b-bot"))
    html = as_user(user).get(bots_url(tenant)).content.decode()
    assert html.count('class="badge ok">default') == 1
    assert html.index("@b-bot") < html.index('class="badge ok">default')
