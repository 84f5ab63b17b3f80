"""Per-job GitLab keys and clone tokens: minting, refreshing, and the tool service's client
(SPEC §6.2). Keys are project access tokens minted with the bot PAT on the job's own project."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import gitlab
from django.utils import timezone

from jobs import timeline
from jobs.credentials.common import (
    KEY_MAX_AGE,
    KEY_REFRESH_AGE,
    NO_ANSWER,
    CredentialError,
    access_tokens,
    bot_client,
    gitlab_call,
    gitlab_expiry_date,
    gitlab_for,
)
from jobs.credentials.revocation import revoke_tokens
from jobs.models import Job, JobEvent, JobToken

log = logging.getLogger(__name__)

REPORTER = 20
DEVELOPER = 30
WRITE_AUTHORITIES = frozenset({"push_branch", "push_mr_branch", "open_mr", "touch_ci", "merge"})
CLONE_SCOPES = ["read_repository"]
# Statuses that mean "GitLab will not mint here" (plan, role, project): fall back to the PAT.
# 401 (the bot PAT itself is dead) and 429 (try later) are not refusals of the feature.
NOT_REFUSALS = frozenset({401, 429})


def scopes_for(authorities: Iterable[str]) -> tuple[list[str], int]:
    """The narrowest (scopes, access level) covering an effective authority set (SPEC §6.2).

    Any push/open/merge authority → api + write_repository, Developer; ``comment`` → api,
    Reporter; ``read`` alone → read_api + read_repository, Reporter. A set with none of these
    raises CredentialError (such a job is refused before it gets here).
    """
    granted = set(authorities)
    if granted & WRITE_AUTHORITIES:
        return ["api", "write_repository"], DEVELOPER
    if "comment" in granted:
        return ["api"], REPORTER
    if "read" in granted:
        return ["read_api", "read_repository"], REPORTER
    raise CredentialError("the job has no authority a GitLab key could serve")


def _describe(status: int | None) -> str:
    return "no answer" if status in (None, NO_ANSWER) else f"HTTP {status}"


def _token_name(job: Job, kind: str) -> str:
    name = f"mate-job-{job.uid.hex[:8]}"
    return name if kind == JobToken.Kind.GITLAB_KEY else f"{name}-clone"


def _mint(job: Job, kind: str, scopes: list[str], level: int) -> tuple[JobToken | None, int | None]:
    """Create one project access token and store it encrypted; (row, None) or (None, status)."""
    gl = bot_client(job)
    manager = access_tokens(gl, job)
    data = {
        "name": _token_name(job, kind),
        "scopes": scopes,
        "access_level": level,
        "expires_at": gitlab_expiry_date().isoformat(),
        "description": f"Mate job {job.uid}; revoked by Mate when the job ends",
    }
    created, status = gitlab_call(lambda: manager.create(data))
    if created is None:
        return None, status
    token_id, value = getattr(created, "id", None), getattr(created, "token", None)
    if not value:
        if token_id is not None:
            gitlab_call(lambda: manager.delete(token_id))
        raise CredentialError(f"GitLab minted a token for project {job.project_id} without a value")
    user_id = getattr(created, "user_id", None)
    row = JobToken(
        job=job,
        kind=kind,
        gitlab_token_id=token_id,
        gitlab_user_id=user_id if type(user_id) is int and user_id > 0 else None,
        scopes=scopes,
        access_level=level,
    )
    row.set_secret("value", value)
    try:
        row.save()
    except Exception:
        gitlab_call(lambda: manager.delete(token_id))  # never leave an unrecorded token behind
        raise
    return row, None


def live_key(job: Job) -> JobToken | None:
    """The job's newest per-job key that is unrevoked, still held and under an hour old."""
    return (
        job.tokens.filter(
            kind=JobToken.Kind.GITLAB_KEY,
            revoked_at__isnull=True,
            minted_at__gt=timezone.now() - KEY_MAX_AGE,
        )
        .exclude(value_ciphertext="")
        .order_by("-minted_at", "-id")
        .first()
    )


def _fall_back_to_pat(job: Job, status: int | None) -> None:
    job.uses_bot_pat = True
    job.save(update_fields=["uses_bot_pat"])
    message = (
        f"GitLab refused to mint a per-job key for project {job.project_id} ({_describe(status)}); "
        "the job continues with the bot's token, used only by Mate's tool service. Make the bot "
        "a Maintainer of the project, or use a GitLab plan with project access tokens."
    )
    timeline.append(job, JobEvent.Kind.WARNING, {"code": "gitlab_key_refused", "message": message})
    log.warning("job %s: per-job key refused (%s); using the bot PAT", job.uid, _describe(status))


def mint_gitlab_key(job: Job) -> JobToken | None:
    """Mint the job's per-job key from its effective authorities and return its row.

    An existing live key younger than 50 minutes is returned as is (safe to call twice). When
    GitLab refuses (a 4xx other than 401/429: plan without the feature, bot not Maintainer), sets
    ``job.uses_bot_pat``, writes a warning event and returns None. Any other failure raises
    CredentialError (no token, no response body).
    """
    current = live_key(job)
    if current is not None and timezone.now() - current.minted_at < KEY_REFRESH_AGE:
        return current
    scopes, level = scopes_for(job.snapshot.get("authorities", ()))
    row, status = _mint(job, JobToken.Kind.GITLAB_KEY, scopes, level)
    if row is not None:
        if job.uses_bot_pat:
            job.uses_bot_pat = False
            job.save(update_fields=["uses_bot_pat"])
        return row
    if status is not None and 400 <= status < 500 and status not in NOT_REFUSALS:
        _fall_back_to_pat(job, status)
        return None
    raise CredentialError(
        f"could not mint a GitLab key for project {job.project_id} ({_describe(status)}); "
        "check the bot's token under Bots, or try again"
    )


def mint_clone_token(job: Job) -> str:
    """Mint a clone token (read_repository, Reporter), store it encrypted, return the plaintext.

    The plaintext is for the container's environment only. Raises CredentialError (no token,
    no response body) when GitLab does not mint it.
    """
    row, status = _mint(job, JobToken.Kind.CLONE_TOKEN, list(CLONE_SCOPES), REPORTER)
    if row is None:
        raise CredentialError(
            f"GitLab did not mint a clone token for project {job.project_id} "
            f"({_describe(status)}); the bot must be a Maintainer and the GitLab plan must allow "
            "project access tokens"
        )
    return row.reveal_secret("value")


def refresh_gitlab_key(job: Job) -> None:
    """Keep the job's key younger than 50 minutes (SPEC §6.2).

    When the live key is 50 minutes old or more (or none is held), mint a fresh one, then revoke
    every key of the job that is 50 minutes old or more. No-op for final jobs and jobs on the bot
    PAT. If GitLab cannot mint now but the old key is under an hour old, it stays in use (logged);
    without any usable key the CredentialError propagates.
    """
    if job.is_final or job.uses_bot_pat:
        return
    current = live_key(job)
    if current is not None and timezone.now() - current.minted_at < KEY_REFRESH_AGE:
        return
    try:
        mint_gitlab_key(job)
    except CredentialError:
        if current is None:
            raise
        log.warning("job %s: key refresh failed; the current key stays until it is due", job.uid)
        return
    stale = job.tokens.filter(
        kind=JobToken.Kind.GITLAB_KEY,
        revoked_at__isnull=True,
        minted_at__lte=timezone.now() - KEY_REFRESH_AGE,
    ).select_related("job__tenant")
    revoke_tokens(stale)


def gitlab_client_for(job: Job) -> gitlab.Gitlab:
    """The python-gitlab client the tool service uses for ``job`` (server-side only).

    The job's live per-job key (refreshed first when it is 50 minutes old), or the bot PAT when
    the job ``uses_bot_pat``. Raises CredentialError for a final job or when no key can be had.
    """
    if job.is_final:
        raise CredentialError(f"job {job.uid} has ended; its GitLab credentials are revoked")
    refresh_gitlab_key(job)
    if job.uses_bot_pat:
        return bot_client(job)
    key = live_key(job)
    if key is None:
        raise CredentialError(f"job {job.uid} holds no live GitLab key")
    return gitlab_for(job, key.reveal_secret("value"))
