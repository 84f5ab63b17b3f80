"""Registering GitLab bots by their PAT (SPEC §2). The operator never types a username."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import gitlab
import requests
from django.db import transaction

from tenants.gitlab import GitLabURLError, check_gitlab_url, registration_client
from tenants.models import Bot, Tenant


class BotRegistrationError(ValueError):
    """The token was refused; the message says why and what to do. It never contains the token."""


@dataclass(frozen=True)
class TokenFacts:
    user_id: int
    username: str
    scopes: list[str]
    expires_on: date | None
    gitlab_url: str  # where the token was checked: the bot is bound to it


def _gitlab_failure(tenant: Tenant, exc: Exception) -> BotRegistrationError:
    if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError):
        return BotRegistrationError(
            "GitLab rejected the token (401). Check that you pasted the whole token and that it "
            "is not revoked or expired."
        )
    if isinstance(exc, gitlab.exceptions.GitlabError):
        code = getattr(exc, "response_code", None)
        return BotRegistrationError(
            f"GitLab at {tenant.gitlab_url} answered {code or 'an error'} while checking the token; "
            "check the GitLab URL in Settings and try again."
        )
    return BotRegistrationError(
        f"Could not reach GitLab at {tenant.gitlab_url} ({type(exc).__name__}); check the GitLab "
        "URL in Settings and that Mate can reach it."
    )


def inspect_token(tenant: Tenant, token: str) -> TokenFacts:
    """Ask the tenant's GitLab who the token belongs to and what it may do; refuse unusable ones."""
    token = (token or "").strip()
    if not token:
        raise BotRegistrationError("Paste the bot's personal access token.")
    try:
        gl = registration_client(tenant, token)
        user = gl.http_get("/user")
        pat = gl.http_get("/personal_access_tokens/self")
    except GitLabURLError as exc:
        raise BotRegistrationError(str(exc)) from None
    except (gitlab.exceptions.GitlabError, requests.RequestException) as exc:
        raise _gitlab_failure(tenant, exc) from None
    if user.get("state") != "active":
        raise BotRegistrationError(
            f"The GitLab account @{user.get('username')} is {user.get('state')}, not active; "
            "unblock it in GitLab first."
        )
    scopes = list(pat.get("scopes") or [])
    if not pat.get("active", True) or pat.get("revoked"):
        raise BotRegistrationError("This token is revoked or inactive; create a new one.")
    if "api" not in scopes:
        raise BotRegistrationError(
            f"The token lacks the api scope (it has: {', '.join(scopes) or 'none'}); create a "
            "token with the api scope."
        )
    expires = pat.get("expires_at")
    return TokenFacts(
        user_id=int(user["id"]),
        username=str(user["username"]),
        scopes=scopes,
        expires_on=date.fromisoformat(expires) if expires else None,
        gitlab_url=check_gitlab_url(tenant.gitlab_url),
    )


def _apply(bot: Bot, facts: TokenFacts, token: str) -> None:
    bot.gitlab_user_id = facts.user_id
    bot.username = facts.username
    bot.scopes = facts.scopes
    bot.token_expires_on = facts.expires_on
    bot.gitlab_url = facts.gitlab_url
    bot.set_secret("token", token.strip())


def _moved(bot: Bot, facts: TokenFacts) -> bool:
    """The bot was registered on another GitLab URL (its token was erased when the URL changed)."""
    return check_gitlab_url(bot.gitlab_url or facts.gitlab_url) != facts.gitlab_url


def _taken(tenant: Tenant, facts: TokenFacts, bot: Bot | None = None) -> bool:
    others = Bot.objects.for_tenant(tenant).filter(gitlab_user_id=facts.user_id)
    return others.exclude(pk=bot.pk).exists() if bot is not None else others.exists()


@transaction.atomic
def register_bot(*, tenant: Tenant, token: str) -> Bot:
    facts = inspect_token(tenant, token)
    stale = Bot.objects.for_tenant(tenant).filter(gitlab_user_id=facts.user_id).first()
    if stale is not None and not _moved(stale, facts):
        raise BotRegistrationError(
            f"@{facts.username} is already a bot of this tenant; use Replace token to rotate it."
        )
    bot = stale or Bot(tenant=tenant)  # a bot left from the old GitLab URL is registered again
    _apply(bot, facts, token)
    bot.save()
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.default_bot_id is None:
        locked.default_bot = bot
        locked.save(update_fields=["default_bot"])
        tenant.default_bot = bot
    return bot


@transaction.atomic
def replace_bot_token(*, bot: Bot, token: str) -> Bot:
    """Rotate a bot's PAT (same GitLab user), or register a bot again after a URL change."""
    facts = inspect_token(bot.tenant, token)
    if _moved(bot, facts):
        if _taken(bot.tenant, facts, bot):
            raise BotRegistrationError(
                f"@{facts.username} is already another bot of this tenant; remove this bot instead."
            )
    elif facts.user_id != bot.gitlab_user_id:
        raise BotRegistrationError(
            f"This token belongs to @{facts.username}, not @{bot.username}. A replacement must "
            "belong to the same GitLab user; to use another account, add it as a new bot."
        )
    _apply(bot, facts, token)
    bot.save()
    return bot


@transaction.atomic
def remove_bot(*, bot: Bot) -> None:
    tenant = Tenant.objects.select_for_update().get(pk=bot.tenant_id)
    removed_pk = bot.pk  # delete() clears bot.pk
    bot.delete()
    if tenant.default_bot_id in (None, removed_pk):
        tenant.default_bot = Bot.objects.for_tenant(tenant).order_by("created_at", "id").first()
        tenant.save(update_fields=["default_bot"])


def set_default_bot(*, tenant: Tenant, bot: Bot) -> None:
    if bot.tenant_id != tenant.pk:
        raise BotRegistrationError("That bot belongs to another tenant.")
    tenant.default_bot = bot
    tenant.save(update_fields=["default_bot"])
