"""What minting and revocation share: lifetimes, the bot's client, and a GitLab call wrapper
that turns every failure into a bare status code so no response body or token travels on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import gitlab
import requests
from django.utils import timezone
from gitlab.v4.objects import ProjectAccessTokenManager

from jobs.models import Job
from tenants.gitlab import GitLabURLError
from tenants.gitlab import bot_client as bound_client
from tenants.models import Bot

CLONE_MAX_AGE = timedelta(minutes=10)
KEY_REFRESH_AGE = timedelta(minutes=50)
KEY_MAX_AGE = timedelta(minutes=60)
NO_ANSWER = 0  # the status reported when GitLab could not be reached
# GitLab's expires_at is a date and a token dies at 00:00 UTC of it (Expirable: expires_at <=
# now). Two days ahead, a token minted at 23:59:59 UTC still has 24 hours; Mate's own
# revocation (job end, KEY_MAX_AGE, CLONE_MAX_AGE) is what keeps it short-lived.
EXPIRY_DAYS_AHEAD = 2

T = TypeVar("T")


def gitlab_expiry_date(now: datetime | None = None) -> date:
    """The ``expires_at`` of every token Mate mints at GitLab: the day after tomorrow, UTC
    (SPEC §6.2). The one place this rule lives."""
    moment = (now or timezone.now()).astimezone(UTC)
    return moment.date() + timedelta(days=EXPIRY_DAYS_AHEAD)


class CredentialError(Exception):
    """A job credential could not be minted or used. The message names the job's project and
    the fix; it never contains a token or a GitLab response body."""


def _bot(job: Job) -> Bot | None:
    return Bot.objects.for_tenant(job.tenant).filter(username=job.bot_username).first()


def bot_token(job: Job) -> str:
    """The plaintext PAT of the job's bot (server-side only), or CredentialError."""
    bot = _bot(job)
    token = bot.reveal_secret("token") if bot is not None else ""
    if not token:
        raise CredentialError(
            f"bot @{job.bot_username} is not registered with a token for this tenant; "
            "register it again under Bots"
        )
    return token


def gitlab_for(job: Job, token: str) -> gitlab.Gitlab:
    """A python-gitlab client with ``token`` (the bot PAT or one minted from it) on the GitLab
    the job's bot was registered on, never another (host checks apply; SPEC §1)."""
    bot = _bot(job)
    if bot is None:
        raise CredentialError(f"bot @{job.bot_username} is no longer registered for this tenant")
    try:
        return bound_client(bot, token)
    except GitLabURLError as exc:
        message = str(exc)  # names the host and the reason, never the token
    raise CredentialError(message)


def bot_client(job: Job) -> gitlab.Gitlab:
    """A client authenticated with the job's bot PAT (minting and revoking use it)."""
    return gitlab_for(job, bot_token(job))


def access_tokens(gl: gitlab.Gitlab, job: Job) -> ProjectAccessTokenManager:
    """The project access token endpoints of the job's own project, without a GET first."""
    return gl.projects.get(job.project_id, lazy=True).access_tokens


def gitlab_call(call: Callable[[], T]) -> tuple[T | None, int | None]:
    """Run ``call``; return (result, None) or (None, HTTP status), NO_ANSWER without a response.

    The exception is dropped here on purpose: python-gitlab errors carry the response body.
    """
    try:
        return call(), None
    except gitlab.GitlabError as exc:
        return None, exc.response_code or NO_ANSWER
    except requests.RequestException:
        return None, NO_ANSWER
