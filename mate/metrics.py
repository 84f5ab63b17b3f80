"""Prometheus metrics (SPEC §10), computed from the database at scrape time.

The database is the truth and every process (web, workers, beat) writes to it, so one scrape of
any web process sees everything; there is no per-process state to aggregate. Each family is one
aggregate query. Rows leave with retention (SPEC §9), so the figures cover the retention window
and are exposed as gauges; the two latency histograms likewise describe the rows kept.

``MATE_METRICS_TOKEN``, when set, must be sent as ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from jobs.models import Delivery, DeliveryEvent, Job

# The classic text format, which every Prometheus version reads; our names need no escaping,
# so the body is the same in the newer 1.0.0 format that recent clients announce by default.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DISPATCH_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
TOOL_CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def tool_call_model():
    """``toolservice.ToolCall``, or None where the tool service is not installed."""
    try:
        return apps.get_model("toolservice", "ToolCall")
    except LookupError:
        return None


def _gauge(name: str, doc: str, labels: Sequence[str], rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for row in rows:
        family.add_metric([str(row[label] or "") for label in labels], row["n"])
    return family


def _histogram(name: str, doc: str, queryset, value, bounds, unit) -> HistogramMetricFamily:
    """One aggregate query: how many rows have ``value`` ≤ each bound, their count and sum.

    ``unit`` turns a bound in seconds into the field's unit (a timedelta, or milliseconds).
    """
    aggregates = {f"le{i}": Count("pk", filter=Q(v__lte=unit(b))) for i, b in enumerate(bounds)}
    found = queryset.annotate(v=value).aggregate(n=Count("pk"), total=Sum("v"), **aggregates)
    buckets = [(str(float(b)), found[f"le{i}"]) for i, b in enumerate(bounds)]
    buckets.append(("+Inf", found["n"]))
    total = found["total"] or 0
    seconds = total.total_seconds() if isinstance(total, timedelta) else total / 1000
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=seconds)


class DatabaseCollector:
    """The collector registered on the /metrics registry; ``collect`` runs per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield _gauge(
            "mate_deliveries",
            "Deliveries kept in the delivery log, by processing state.",
            ["state"],
            Delivery.objects.order_by().values("state").annotate(n=Count("pk")),
        )
        yield _gauge(
            "mate_delivery_events",
            "Events derived from deliveries (or undeliverable deliveries), by resolution.",
            ["resolution"],
            DeliveryEvent.objects.order_by().values("resolution").annotate(n=Count("pk")),
        )
        yield _gauge(
            "mate_jobs",
            "Jobs by status and outcome (outcome is empty until a job is final).",
            ["status", "outcome"],
            Job.objects.order_by().values("status", "outcome").annotate(n=Count("pk")),
        )
        latency = ExpressionWrapper(F("started_at") - F("created_at"), output_field=DurationField())
        yield _histogram(
            "mate_job_dispatch_latency_seconds",
            "Time from a job's creation to its agent process starting.",
            Job.objects.order_by().filter(started_at__isnull=False),
            latency,
            DISPATCH_BUCKETS,
            lambda seconds: timedelta(seconds=seconds),
        )
        yield from self._tool_calls()

    def _tool_calls(self) -> Iterator[Metric]:
        model = tool_call_model()
        if model is None:
            return
        yield _gauge(
            "mate_tool_calls",
            "Tool calls by outcome (ok, error, denied).",
            ["outcome"],
            model.objects.order_by().values("outcome").annotate(n=Count("pk")),
        )
        yield _histogram(
            "mate_tool_call_duration_seconds",
            "Duration of tool calls as the tool service measured it.",
            model.objects.order_by(),
            F("duration_ms"),
            TOOL_CALL_BUCKETS,
            lambda seconds: seconds * 1000,
        )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DatabaseCollector())


def _authorized(request: HttpRequest) -> bool:
    token = getattr(settings, "MATE_METRICS_TOKEN", "")
    if not token:
        return True
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition format."""
    if not _authorized(request):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE)
