"""The live timeline's JSON endpoint (SPEC §6.6): events after a cursor, oldest first.

``?after=<id>`` is the id of the last event the page has; the answer holds the events with a
larger id (at most ``BATCH``, ``more`` says whether others follow) and the job's state, read
before the events so that a final state is never newer than the events it comes with. Ids only
grow, so following the cursor neither loses nor repeats an event, however long a pause was.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from jobs.models import JobEvent
from jobs.views import present
from jobs.views.common import job_of, json_error, no_store
from tenants.access import tenant_for

BATCH = 200
MAX_CURSOR = 2**63 - 1


def _cursor(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_CURSOR:
        return None
    return int(raw)


@login_required
@require_GET
def job_events(request: HttpRequest, tenant: uuid.UUID, job: uuid.UUID) -> JsonResponse:
    tenant_obj, _membership = tenant_for(request.user, tenant)
    job_obj = job_of(tenant_obj, job)
    after = _cursor(request.GET.get("after"))
    if after is None:
        return json_error("after must be the id of an event: a whole number, 0 or more.")
    events = list(JobEvent.objects.filter(job=job_obj, pk__gt=after).order_by("pk")[: BATCH + 1])
    more = len(events) > BATCH
    events = events[:BATCH]
    answer = {
        "job": present.job_state(job_obj, tenant_obj),
        "events": [present.event_view(e) for e in events],
        "cursor": events[-1].pk if events else after,
        "more": more,
    }
    return no_store(JsonResponse(answer))
