"""Deduplication by event identity (SPEC §5.1): one GitLab event, one routing.

Delivery-level deduplication (``Idempotency-Key``, else ``X-Gitlab-Event-UUID``) cannot see that
two deliveries carry the same event: a project hook and a group hook on the same project send
it with different keys, and a GitLab before 17.4 sends no ``Idempotency-Key`` while its "Resend
request" gets a new ``X-Gitlab-Event-UUID``. So every event routed is claimed by its identity:

    the event (name, acting bot, project, object, label: ``Event.dedupe_key()``)
    + which change of the object it is: the note id for a mention, else the payload's action
      and the object's ``updated_at`` (for a pipeline: status and ``finished_at``)

The first delivery to claim an identity routes the event; another delivery claiming it within
``WINDOW`` records ``ignored`` with the reason naming the first. Two real events differ: two
mentions are two notes, a second assignment has a later ``updated_at``. An event whose payload
gives no timestamp (and no note id) has no identity and is always routed.

A claim is a row with a unique (tenant, key): concurrent workers cannot both win (the loser's
insert fails, or waits for the winner's transaction and then fails), no read-then-write race.
Rows older than the window no longer count; a new claim replaces such a row and the retention
purge (``prune``) deletes the rest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs.events import Event
from jobs.models import Delivery, EventIdentity
from tenants.models import Tenant

WINDOW = timedelta(minutes=10)


def identity_of(event: Event) -> str | None:
    """The event's identity as text, or None when the payload did not say which change it is."""
    if event.note_id is not None:
        return f"{event.dedupe_key()}:note/{event.note_id}"
    if event.updated_at is None:
        return None
    return f"{event.dedupe_key()}:{event.action or ''}@{event.updated_at}"


def key_of(event: Event) -> str | None:
    """The stored key: a digest of ``identity_of`` (labels and names can be long)."""
    identity = identity_of(event)
    return hashlib.sha256(identity.encode()).hexdigest() if identity is not None else None


def duplicate_reason(first: Delivery) -> str:
    return f"duplicate event: already routed from delivery {first.uid}"


def claim(
    tenant: Tenant, delivery: Delivery, event: Event, now: datetime | None = None
) -> str | None:
    """Claim ``event`` for ``delivery``: None when this delivery routes it, else the reason it
    is a duplicate. Call inside the delivery's transaction: the claim commits with its outcome,
    or not at all."""
    key = key_of(event)
    if key is None:
        return None
    now = now or timezone.now()
    EventIdentity.objects.filter(tenant=tenant, key=key, seen_at__lt=now - WINDOW).delete()
    try:
        with transaction.atomic():
            EventIdentity.objects.create(tenant=tenant, key=key, delivery=delivery, seen_at=now)
        return None
    except IntegrityError:
        pass
    first = _claimed(tenant, key, now)
    if first is None or first.delivery_id == delivery.id:
        return None
    return duplicate_reason(first.delivery)


def release(tenant: Tenant, delivery: Delivery, event: Event) -> None:
    """Give back ``delivery``'s claim on ``event`` (GitLab contradicted the delivery)."""
    key = key_of(event)
    if key is not None:
        EventIdentity.objects.filter(tenant=tenant, key=key, delivery=delivery).delete()


def duplicate_of(tenant: Tenant, delivery: Delivery, event: Event) -> str | None:
    """Read-only (Explain): the duplicate reason when another delivery holds the claim on this
    event within the window, else None. A delivery is never its own duplicate."""
    key = key_of(event)
    if key is None:
        return None
    first = _claimed(tenant, key, timezone.now())
    if first is None or first.delivery_id == delivery.id:
        return None
    return duplicate_reason(first.delivery)


def _claimed(tenant: Tenant, key: str, now: datetime) -> EventIdentity | None:
    return (
        EventIdentity.objects.filter(tenant=tenant, key=key, seen_at__gte=now - WINDOW)
        .select_related("delivery")
        .only("delivery_id", "delivery__uid")
        .first()
    )


def stale(now: datetime) -> QuerySet:
    """The claims that no longer count (older than the window), for the retention purge."""
    return EventIdentity.objects.filter(seen_at__lt=now - WINDOW)
