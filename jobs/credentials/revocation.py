"""Revoking job tokens at GitLab (SPEC §3, §6.2, §9; THREATS T12, T26).

A token is retired in two steps: its ciphertext is erased at once (Mate never needs the value
again), and ``revoked_at`` is set only when GitLab confirmed the revocation or answered 404 (the
token is gone). Until then the reconciler (``revoke_due_tokens``) retries every minute, which
needs only ``gitlab_token_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import gitlab
from django.db.models import Q
from django.utils import timezone

from jobs.credentials.common import (
    CLONE_MAX_AGE,
    KEY_MAX_AGE,
    CredentialError,
    access_tokens,
    bot_client,
    gitlab_call,
)
from jobs.models import FINAL_STATUSES, Job, JobToken

log = logging.getLogger(__name__)

BATCH = 500
_Clients = dict[tuple[int, str], gitlab.Gitlab | None]


def _erase(token: JobToken) -> None:
    if token.has_secret("value"):
        token.set_secret("value", None)
        token.save(update_fields=["value_ciphertext", "value_set_at"])


def _mark_revoked(token: JobToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])


def _client(job: Job, clients: _Clients) -> gitlab.Gitlab | None:
    """The bot's client for ``job``, built once per tenant and bot; None when unavailable."""
    key = (job.tenant_id, job.bot_username)
    if key not in clients:
        try:
            clients[key] = bot_client(job)
        except CredentialError as exc:
            log.warning("job %s: cannot revoke its tokens now: %s", job.uid, exc)
            clients[key] = None
    return clients[key]


def _revoke(token: JobToken, clients: _Clients) -> bool:
    """Erase and revoke one token; True when it is now known to be revoked at GitLab."""
    _erase(token)
    job = token.job
    if token.gitlab_token_id is not None:
        gl = _client(job, clients)
        if gl is None:
            return False
        token_id = token.gitlab_token_id
        _, status = gitlab_call(lambda: access_tokens(gl, job).delete(token_id))
        if status not in (None, 404):
            log.warning(
                "job %s: GitLab did not revoke %s %s (status %s); the reconciler retries",
                job.uid,
                token.kind,
                token_id,
                status or "no answer",
            )
            return False
    _mark_revoked(token)
    return True


def revoke_tokens(tokens: Iterable[JobToken]) -> int:
    """Retire each token (erase, then revoke at GitLab); returns how many are now revoked.

    Select the tokens with ``select_related("job__tenant")``. Never raises for GitLab failures:
    they are logged (no secrets) and the token stays pending for the reconciler.
    """
    clients: _Clients = {}
    return sum(_revoke(token, clients) for token in tokens)


def _pending(job: Job):
    return job.tokens.filter(revoked_at__isnull=True).select_related("job__tenant")


def clone_done(job: Job) -> None:
    """The container cloned: revoke the job's clone token(s) and erase them. Idempotent."""
    revoke_tokens(_pending(job).filter(kind=JobToken.Kind.CLONE_TOKEN))


def revoke_job_tokens(job: Job) -> None:
    """Revoke and erase every unrevoked token of ``job`` (at job end). Idempotent; GitLab
    failures are logged and left to ``revoke_due_tokens``."""
    revoke_tokens(_pending(job))


def revoke_due_tokens(now: datetime | None = None) -> int:
    """The reconciler's sweep: revoke clone tokens over 10 minutes old, per-job keys over 60
    minutes old and every token of a final job (at most BATCH per run); returns how many were
    revoked at GitLab in this run."""
    now = now or timezone.now()
    due = (
        Q(kind=JobToken.Kind.CLONE_TOKEN, minted_at__lte=now - CLONE_MAX_AGE)
        | Q(kind=JobToken.Kind.GITLAB_KEY, minted_at__lte=now - KEY_MAX_AGE)
        | Q(job__status__in=FINAL_STATUSES)
    )
    tokens = (
        JobToken.objects.filter(due, revoked_at__isnull=True)
        .select_related("job__tenant")
        .order_by("minted_at", "id")[:BATCH]
    )
    return revoke_tokens(tokens)
