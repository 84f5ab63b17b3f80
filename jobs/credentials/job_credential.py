"""The job credential: an opaque bearer token for the container (SPEC §6.2, §7.2 step 1)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.utils import timezone

from jobs.models import Job, JobStatus

PREFIX = "mjt_"  # the shape mate.redaction masks
GRACE = timedelta(minutes=5)
# A job's credential works only while its agent may act: once the job is FINISHING (its agent
# exited, a timeout or budget stopped it, a cancel is being carried out) or final, never.
LIVE_STATUSES = (JobStatus.STARTING, JobStatus.RUNNING)
_SHAPE = re.compile(r"mjt_[A-Za-z0-9_-]{43}", re.ASCII)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_job_credential(job: Job) -> str:
    """Return a new job credential for ``job`` and store only its hash.

    The token is ``mjt_`` + 43 URL-safe characters (256 random bits). It expires
    ``snapshot["timeout_seconds"]`` + 5 minutes from now. Calling again replaces (and so
    invalidates) the previous credential. Saves ``credential_hash`` and ``credential_expires_at``.
    """
    token = PREFIX + secrets.token_urlsafe(32)
    job.credential_hash = _digest(token)
    timeout = timedelta(seconds=int(job.snapshot["timeout_seconds"]))
    job.credential_expires_at = timezone.now() + timeout + GRACE
    job.save(update_fields=["credential_hash", "credential_expires_at"])
    return token


def authenticate(token: object) -> Job | None:
    """The job whose live credential is ``token``, else None; never raises on any input.

    Live means: the job exists, is STARTING or RUNNING (never FINISHING or final, T8, T46), no
    cancel has been requested (from that moment on, even before its worker moves it to
    FINISHING, T46) and now < credential_expires_at (T7). The look-up is by hash, so no secret
    is ever compared character by character. Every user of the credential (tool service, git
    proxy, LLM gateway) asks here, so the rule holds for all of them.
    """
    if not isinstance(token, str) or not _SHAPE.fullmatch(token):
        return None
    return (
        Job.objects.select_related("tenant")
        .filter(
            credential_hash=_digest(token),
            credential_expires_at__gt=timezone.now(),
            status__in=LIVE_STATUSES,
            cancel_requested_at__isnull=True,
        )
        .first()
    )
