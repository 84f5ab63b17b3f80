"""Rows for the jobs console tests: a tenant with a member of each role, another tenant, and
helpers that make jobs, timeline events and deliveries directly in the database.

(tests/jobs/conftest.py's ``world`` is the GitLab-simulator world; these tests need none.)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobStatus
from tenants.models import Bot, Role, Tenant
from tests.tenants.factories import TenantFactory, make_bot, make_default, member

_seq = itertools.count(1)
HOSTILE = "<img src=x onerror=alert(1)>"
ANSI = "\x1b[31mred\x1b[0m"


@dataclass
class ConsoleWorld:
    tenant: Tenant
    owner: object
    operator: object
    viewer: object
    bot: Bot
    other: Tenant
    other_owner: object


def build_world() -> ConsoleWorld:
    tenant = TenantFactory(name="Acme", gitlab_url="https://gitlab.example.com")
    owner = member(tenant, Role.OWNER, username="olivia")
    operator = member(tenant, Role.OPERATOR, username="oscar")
    viewer = member(tenant, Role.VIEWER, username="vera")
    bot = make_default(make_bot(tenant, "mate-bot"))
    other = TenantFactory(name="Other Corp")
    other_owner = member(other, Role.OWNER, username="mallory")
    make_bot(other, "other-bot")
    return ConsoleWorld(tenant, owner, operator, viewer, bot, other, other_owner)


def make_job(tenant: Tenant, **fields) -> Job:
    n = next(_seq)
    created_at = fields.pop("created_at", None)
    values = {
        "event_key": f"test:{n}",
        "event": "issue_assigned",
        "bot_username": "mate-bot",
        "agent": "helper",
        "trigger": "tenant[0]",
        "project_id": 42,
        "project_path": "acme/widget",
        "object_kind": "issue",
        "object_iid": 7,
        "loop_key": "issue/7",
        "status": JobStatus.RUNNING,
        "snapshot": {
            "agent": {"name": "helper", "backend": "claude-code", "model": "claude-sonnet-4-6"},
            "trigger": {"origin": "tenant", "index": 0, "on": "issue_assigned"},
            "authorities": ["read", "comment"],
            "config": {"ref": "main", "commit": "abc123def4567890", "file": ".mate.yml"},
            "object": {"kind": "issue", "iid": 7, "pipeline_id": None},
            "timeout_seconds": 3600,
        },
    }
    values.update(fields)
    job = Job.objects.create(tenant=tenant, **values)
    if created_at is not None:
        Job.objects.filter(pk=job.pk).update(created_at=created_at)
        job.refresh_from_db()
    return job


def add_event(job: Job, kind: str = "log", data: dict | None = None, **extra) -> JobEvent:
    created_at = extra.pop("created_at", None)
    event = JobEvent.objects.create(job=job, kind=kind, data=data or {"line": "hello"})
    if created_at is not None:
        JobEvent.objects.filter(pk=event.pk).update(created_at=created_at)
    return event


def make_delivery(
    tenant: Tenant,
    hook: str = "Issue Hook",
    body: object | None = None,
    headers: dict | None = None,
    received_at: datetime | None = None,
    outcomes: list[dict] | None = None,
) -> Delivery:
    n = next(_seq)
    delivery = Delivery.objects.create(
        tenant=tenant,
        hook=hook,
        idempotency_key=f"key-{n}",
        headers=headers or {"X-Gitlab-Event": hook, "Content-Type": "application/json"},
        body=body if body is not None else {"object_kind": "issue", "n": n},
        state=Delivery.State.PROCESSED if outcomes else Delivery.State.ACCEPTED,
    )
    if received_at is not None:
        Delivery.objects.filter(pk=delivery.pk).update(received_at=received_at)
        delivery.refresh_from_db()
    for position, outcome in enumerate(outcomes or []):
        DeliveryEvent.objects.create(delivery=delivery, tenant=tenant, position=position, **outcome)
    return delivery


def forget_validated_configs() -> None:
    """Drop the per-process cache of validated configs, keyed by ConfigVersion id: a rolled-back
    test frees ids that a later test reuses for a different text."""
    from tenants.services import configs

    configs._VALIDATED.clear()


def url(name: str, tenant: Tenant, **kwargs) -> str:
    return reverse(f"console:{name}", kwargs={"tenant": tenant.uid, **kwargs})
