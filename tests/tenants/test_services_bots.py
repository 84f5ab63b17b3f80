"""SPEC §2 through python-gitlab against the simulator: who the token is, what it may do."""

import datetime as dt

import pytest

from tenants import services
from tenants.models import Bot
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(gitlab_sim, settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    return TenantFactory(gitlab_url=gitlab_sim.url)


def test_register_reads_username_id_scopes_and_expiry(gitlab_sim, tenant):
    user = gitlab_sim.add_user("mate-bot", bot=True)
    expiry = dt.date.today() + dt.timedelta(days=90)
    pat = gitlab_sim.add_pat(user, scopes=["api", "read_repository"], expires_at=expiry)
    bot = services.register_bot(tenant=tenant, token=pat)
    assert (bot.username, bot.gitlab_user_id) == ("mate-bot", user.id)
    assert bot.scopes == ["api", "read_repository"]
    assert bot.token_expires_on == expiry
    assert bot.reveal_secret("token") == pat
    tenant.refresh_from_db()
    assert tenant.default_bot == bot
    assert not bot.expires_soon()
    paths = [r.path for r in gitlab_sim.requests]
    assert "/api/v4/user" in paths and "/api/v4/personal_access_tokens/self" in paths


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda sim, u: sim.add_pat(u, scopes=["read_api"]), "lacks the api scope"),
        (lambda sim, u: sim.add_pat(u, revoked=True), "rejected the token (401)"),
        (
            lambda sim, u: sim.add_pat(u, expires_at=dt.date.today() - dt.timedelta(days=1)),
            "rejected the token (401)",
        ),
        (lambda sim, u: "glpat-notarealtoken000000", "rejected the token (401)"),
    ],
)
def test_unusable_tokens_are_refused_with_the_reason(gitlab_sim, tenant, setup, message):
    user = gitlab_sim.add_user("mate-bot")
    token = setup(gitlab_sim, user)
    with pytest.raises(
        services.BotRegistrationError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as info:
        services.register_bot(tenant=tenant, token=token)
    assert token not in str(info.value)
    assert not Bot.objects.exists()


def test_blocked_account_is_refused(gitlab_sim, tenant):
    user = gitlab_sim.add_user("mate-bot")
    pat = gitlab_sim.add_pat(user)
    gitlab_sim.set_user_state(user, "blocked")
    with pytest.raises(services.BotRegistrationError):
        services.register_bot(tenant=tenant, token=pat)
    assert not Bot.objects.exists()


def test_replace_token_must_belong_to_the_same_user(gitlab_sim, tenant):
    user = gitlab_sim.add_user("mate-bot")
    other = gitlab_sim.add_user("someone")
    bot = services.register_bot(tenant=tenant, token=gitlab_sim.add_pat(user))
    with pytest.raises(services.BotRegistrationError, match="belongs to @someone, not @mate-bot"):
        services.replace_bot_token(bot=bot, token=gitlab_sim.add_pat(other))
    fresh = gitlab_sim.add_pat(user, expires_at=dt.date.today() + dt.timedelta(days=5))
    services.replace_bot_token(bot=bot, token=fresh)
    bot.refresh_from_db()
    assert bot.reveal_secret("token") == fresh
    assert bot.expires_soon()


def test_duplicate_registration_remove_and_default(gitlab_sim, tenant):
    first = services.register_bot(
        tenant=tenant, token=gitlab_sim.add_pat(gitlab_sim.add_user("bot-one"))
    )
    second = services.register_bot(
        tenant=tenant, token=gitlab_sim.add_pat(gitlab_sim.add_user("bot-two"))
    )
    with pytest.raises(services.BotRegistrationError, match="already a bot of this tenant"):
        services.register_bot(tenant=tenant, token=gitlab_sim.add_pat("bot-one"))
    services.set_default_bot(tenant=tenant, bot=second)
    tenant.refresh_from_db()
    assert tenant.default_bot == second
    services.remove_bot(bot=second)
    tenant.refresh_from_db()
    assert tenant.default_bot == first


def test_unreachable_gitlab_is_a_clear_error(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    tenant = TenantFactory(gitlab_url="http://127.0.0.1:9")
    with pytest.raises(
        services.BotRegistrationError, match="Could not reach GitLab at http://127.0.0.1:9"
    ):
        services.register_bot(tenant=tenant, token="glpat-xxxxxxxxxxxxxxxxxxxx")
