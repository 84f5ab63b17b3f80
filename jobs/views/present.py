"""How jobs and timeline events look in the console, shared by the pages and their JSON.

Everything an agent or GitLab wrote is treated as text: control characters are made visible
here, templates escape it, and the page script only ever assigns it with ``textContent``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import quote, urlsplit

from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, JobEvent, JobStatus, Outcome
from tenants.models import Tenant

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
# isolates that can make a log line read differently from what it is ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_STATUS_CLASS = {
    JobStatus.PENDING: "",
    JobStatus.STARTING: "live",
    JobStatus.RUNNING: "live",
    JobStatus.FINISHING: "live",
    JobStatus.DONE: "ok",
    JobStatus.CANCELED: "bad",
    JobStatus.ERRORED: "bad",
}


def neutralize(value: object) -> str:
    """Text with every control character shown as a visible symbol instead of acting.

    C0 controls become their Unicode "control picture" (ESC → ␛), DEL becomes ␡, anything else
    (C1 controls, bidi overrides) becomes U+FFFD. Tabs and newlines stay.
    """
    text = value if isinstance(value, str) else str(value)

    def picture(match: re.Match) -> str:
        code = ord(match.group())
        if code < 0x20:
            return chr(0x2400 + code)
        return "\u2421" if code == 0x7F else "\ufffd"

    return _CONTROL.sub(picture, text)


def status_class(status: str) -> str:
    return _STATUS_CLASS.get(status, "")


def outcome_class(outcome: str) -> str:
    """Every outcome but SUCCESS is red (SPEC §8)."""
    if not outcome:
        return ""
    return "ok" if outcome == Outcome.SUCCESS else "bad"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def job_seconds(job: Job, now: datetime) -> float | None:
    """Run time: started → finished, or → now while the job is not final."""
    if job.started_at is None:
        return None
    end = job.finished_at or (None if job.is_final else now)
    if end is None:
        return None
    return (end - job.started_at).total_seconds()


def when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def job_row(job: Job, tenant: Tenant, now: datetime | None = None) -> dict:
    """One jobs-list row, the same for the page and the refresh endpoint."""
    now = now or timezone.now()
    return {
        "uid": str(job.uid),
        "url": reverse("console:job", kwargs={"tenant": tenant.uid, "job": job.uid}),
        "started": when(job.started_at) or f"queued {when(job.created_at)}",
        "agent": neutralize(job.agent),
        "trigger": neutralize(job.trigger),
        "event": job.event,
        "project": neutralize(job.project_path),
        "status": job.status,
        "status_class": status_class(job.status),
        "duration": duration_text(job_seconds(job, now)),
        "tools": job.tool_calls,
        "outcome": job.outcome,
        "outcome_class": outcome_class(job.outcome),
        "final": job.is_final,
        "cancel_requested": job.cancel_requested_at is not None and not job.is_final,
    }


def job_state(job: Job, tenant: Tenant, now: datetime | None = None) -> dict:
    """What the detail page refreshes besides the timeline."""
    row = job_row(job, tenant, now)
    row.update(
        finished=when(job.finished_at),
        cost="" if job.cost_usd is None else f"${job.cost_usd}",
        exit_code=job.exit_code,
    )
    return row


def _text(kind: str, data: dict) -> str:
    if kind == JobEvent.Kind.LOG and "line" in data:
        return str(data["line"])
    if kind == JobEvent.Kind.STATUS:
        text = f"{data.get('from') or 'new'} → {data.get('to')}"
        return f"{text}: {data['reason']}" if data.get("reason") else text
    if kind == JobEvent.Kind.TOOL_CALL:
        text = f"{data.get('tool')} {data.get('outcome')}"
        if data.get("category"):
            text += f" ({data['category']})"
        return f"{text} in {data.get('duration_ms', '?')} ms"
    if kind == JobEvent.Kind.WARNING and "message" in data:
        return str(data["message"])
    if kind == JobEvent.Kind.FINAL:
        text = f"outcome {data.get('outcome')}, exit code {data.get('exit_code')}"
        return f"{text}: {data['reason']}" if data.get("reason") else text
    return json.dumps(data, sort_keys=True, default=str)


def event_view(event: JobEvent) -> dict:
    """A timeline entry as text: id (the cursor), kind, label, time and neutralized text."""
    data = event.data if isinstance(event.data, dict) else {"value": event.data}
    label = event.kind
    if event.kind == JobEvent.Kind.LOG and data.get("stream"):
        label = f"log {data['stream']}"
    return {
        "id": event.pk,
        "kind": event.kind,
        "label": neutralize(label)[:40],
        "at": timezone.localtime(event.created_at).strftime("%H:%M:%S"),
        "at_iso": event.created_at.isoformat(),
        "text": neutralize(_text(event.kind, data)),
    }


def gitlab_object_url(tenant: Tenant, job: Job) -> str:
    """The issue, merge request or pipeline page at the tenant's GitLab ('' when unknown)."""
    base = tenant.gitlab_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not job.project_path:
        return ""
    project = f"{base}/{quote(job.project_path, safe='/')}"
    pipeline_id = ((job.snapshot or {}).get("object") or {}).get("pipeline_id")
    if job.object_kind == "pipeline" and isinstance(pipeline_id, int):
        return f"{project}/-/pipelines/{pipeline_id}"
    if job.object_iid is None:
        return ""
    if job.object_kind == "issue":
        return f"{project}/-/issues/{job.object_iid}"
    if job.object_kind in ("merge_request", "pipeline"):
        return f"{project}/-/merge_requests/{job.object_iid}"
    return ""


def object_label(job: Job) -> str:
    pipeline_id = ((job.snapshot or {}).get("object") or {}).get("pipeline_id")
    if job.object_kind == "pipeline" and pipeline_id:
        return f"pipeline #{pipeline_id}"
    prefix = {"issue": "#", "merge_request": "!"}.get(job.object_kind, "")
    return f"{job.object_kind.replace('_', ' ')} {prefix}{job.object_iid}"
