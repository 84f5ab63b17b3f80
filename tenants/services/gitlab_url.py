"""Saving and changing a tenant's GitLab URL (SPEC §1; THREATS T16, T35, T36).

A URL is refused when it is saved if Mate could never send a token there. Changing it (an owner
action in the console) first revokes every token Mate minted at the old GitLab, then erases
every bot's PAT in the same transaction that stores the new URL: no token checked on the old
URL can ever be sent to the new one, and the bots must be registered again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tenants.gitlab import GitLabURLError, check_gitlab_url, ensure_allowed_host
from tenants.models import Bot, Tenant
from tenants.services.errors import SettingsError


@dataclass(frozen=True)
class URLChangeImpact:
    """What changing the URL does, shown to the owner before they confirm."""

    bots: list[str]  # usernames whose PAT is erased
    minted_tokens: int  # job tokens Mate minted that are not yet revoked


@dataclass(frozen=True)
class URLChange:
    old_url: str
    new_url: str
    bots_erased: list[str]
    tokens_revoked: int
    tokens_pending: int  # GitLab did not confirm; they expire on their own (at most 2 days)


def gitlab_url_for_saving(url: str) -> str:
    """The normalized URL, refused now if Mate could never send a token there (SPEC §1)."""
    try:
        url = check_gitlab_url(url)
        ensure_allowed_host(url)
    except GitLabURLError as exc:
        raise SettingsError("gitlab_url", str(exc)) from None
    return url


def _unrevoked(tenant: Tenant):
    from jobs.models import JobToken  # the jobs app builds on tenants, not the other way round

    return JobToken.objects.filter(job__tenant=tenant, revoked_at__isnull=True)


def url_change_impact(tenant: Tenant) -> URLChangeImpact:
    bots = Bot.objects.for_tenant(tenant).exclude(token_ciphertext="")
    return URLChangeImpact(
        bots=[bot.username for bot in bots], minted_tokens=_unrevoked(tenant).count()
    )


def _revoke_minted(tenant: Tenant) -> tuple[int, int]:
    """Revoke every unrevoked job token at the old GitLab; (revoked, still pending)."""
    from jobs.credentials import revoke_job_tokens
    from jobs.models import Job

    before = _unrevoked(tenant).count()
    for job in Job.objects.filter(tokens__in=_unrevoked(tenant)).distinct():
        revoke_job_tokens(job)
    pending = _unrevoked(tenant).count()
    return before - pending, pending


@transaction.atomic
def _move(tenant: Tenant, new_url: str) -> tuple[str, list[str]]:
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    old_url = locked.gitlab_url
    locked.gitlab_url = new_url
    locked.save(update_fields=["gitlab_url"])
    erased = []
    for bot in Bot.objects.for_tenant(locked).select_for_update():
        if bot.has_secret("token"):
            erased.append(bot.username)
        bot.set_secret("token", None)
        bot.save(update_fields=["token_ciphertext", "token_set_at"])
    tenant.gitlab_url = new_url
    return old_url, erased


def change_gitlab_url(*, tenant: Tenant, gitlab_url: str) -> URLChange | None:
    """Point the tenant at another GitLab; None when the URL is the same one.

    Order matters: minted tokens are revoked while the bot PATs still exist (revoking needs
    them), then the URL and the PAT erasure are stored together. A token minted in between is
    still bound to the old URL (``tenants.gitlab.bot_client``) and can never reach the new one.
    """
    new_url = gitlab_url_for_saving(gitlab_url)
    if new_url == check_gitlab_url(tenant.gitlab_url):
        return None
    revoked, pending = _revoke_minted(tenant)
    old_url, erased = _move(tenant, new_url)
    return URLChange(old_url, new_url, erased, revoked, pending)
