"""Appending to a job's timeline (SPEC §6.6). Every writer goes through here, so every entry is
redacted the same way and counts as activity for the 5-minute watchdog."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from jobs.models import Job, JobEvent
from mate.jsonsafe import storable
from mate.redaction import redact

MAX_TEXT = 4000


def _clean(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        # jsonb cannot hold NUL or lone surrogates; an agent printing one must not break the log.
        return storable(redact(value, secrets))[:MAX_TEXT]
    if isinstance(value, dict):
        return {k: _clean(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, secrets) for v in value]
    return value


def append(job: Job, kind: str, data: dict, *, secrets: tuple[str, ...] = ()) -> JobEvent:
    """Add one event (``kind`` in JobEvent.Kind) with token shapes and ``secrets`` masked."""
    event = JobEvent.objects.create(job=job, kind=kind, data=_clean(data, secrets))
    updates: dict[str, Any] = {"last_activity_at": timezone.now()}
    if kind == JobEvent.Kind.TOOL_CALL:
        updates["tool_calls"] = F("tool_calls") + 1
    Job.objects.filter(pk=job.pk).update(**updates)
    return event
