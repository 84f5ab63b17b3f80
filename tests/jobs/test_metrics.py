"""/metrics (SPEC §10): Prometheus text format, figures computed from the database rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from jobs.models import Job, JobStatus, Outcome
from mate import metrics
from tests.jobs.console_world import build_world, make_delivery, make_job
from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db


def scrape(client=None, **headers) -> dict:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


@pytest.fixture
def rows(db):
    world = build_world()
    now = timezone.now()
    for started_after in (0.2, 3, 3, 4000):
        job = make_job(world.tenant, status=JobStatus.DONE, outcome=Outcome.SUCCESS)
        Job.objects.filter(pk=job.pk).update(
            started_at=job.created_at + timedelta(seconds=started_after), finished_at=now
        )
    make_job(world.tenant, status=JobStatus.DONE, outcome=Outcome.FAILURE)
    make_job(world.other, status=JobStatus.PENDING)
    running = make_job(world.tenant, status=JobStatus.RUNNING)
    make_delivery(world.tenant, outcomes=[{"resolution": "dispatched"}, {"resolution": "refused"}])
    make_delivery(world.other, outcomes=[{"resolution": "refused"}])
    make_delivery(world.tenant)  # accepted, not processed
    for outcome, ms in (("ok", 40), ("ok", 300), ("error", 2000), ("denied", 1)):
        ToolCall.objects.create(
            job=running,
            tenant=world.tenant,
            tool="get_issue",
            transport="rest",
            outcome=outcome,
            duration_ms=ms,
        )
    return world


def test_gauges_reflect_rows(rows):
    samples = scrape()
    assert value(samples, "mate_jobs", status="DONE", outcome="SUCCESS") == 4
    assert value(samples, "mate_jobs", status="DONE", outcome="FAILURE") == 1
    assert value(samples, "mate_jobs", status="PENDING", outcome="") == 1
    assert value(samples, "mate_jobs", status="RUNNING", outcome="") == 1
    assert value(samples, "mate_delivery_events", resolution="refused") == 2
    assert value(samples, "mate_delivery_events", resolution="dispatched") == 1
    assert value(samples, "mate_deliveries", state="processed") == 2
    assert value(samples, "mate_deliveries", state="accepted") == 1
    assert value(samples, "mate_tool_calls", outcome="ok") == 2
    assert value(samples, "mate_tool_calls", outcome="denied") == 1


def test_latency_histograms(rows):
    samples = scrape()
    name = "mate_job_dispatch_latency_seconds"
    assert value(samples, f"{name}_bucket", le="0.5") == 1
    assert value(samples, f"{name}_bucket", le="5.0") == 3
    assert value(samples, f"{name}_bucket", le="3600.0") == 3
    assert value(samples, f"{name}_bucket", le="+Inf") == 4
    assert value(samples, f"{name}_count") == 4
    assert value(samples, f"{name}_sum") == pytest.approx(4006.2, abs=0.01)
    name = "mate_tool_call_duration_seconds"
    assert value(samples, f"{name}_bucket", le="0.05") == 2
    assert value(samples, f"{name}_bucket", le="0.5") == 3
    assert value(samples, f"{name}_bucket", le="+Inf") == 4
    assert value(samples, f"{name}_sum") == pytest.approx(2.341)


def test_counts_follow_changes(rows):
    before = value(scrape(), "mate_jobs", status="RUNNING", outcome="")
    Job.objects.filter(status=JobStatus.RUNNING).update(
        status=JobStatus.CANCELED, outcome=Outcome.CANCELED
    )
    after = scrape()
    assert before == 1 and value(after, "mate_jobs", status="RUNNING", outcome="") == 0
    assert value(after, "mate_jobs", status="CANCELED", outcome="CANCELED") == 1


def test_empty_database_still_parses(db):
    samples = scrape()
    assert value(samples, "mate_job_dispatch_latency_seconds_count") == 0
    assert value(samples, "mate_tool_call_duration_seconds_sum") == 0


def test_one_query_per_family(rows, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        scrape()


def test_without_the_tool_service_the_tool_metrics_are_absent(rows, monkeypatch):
    monkeypatch.setattr(metrics, "tool_call_model", lambda: None)
    samples = scrape()
    assert not any(name.startswith("mate_tool_call") for name, _ in samples)
    assert value(samples, "mate_jobs", status="DONE", outcome="SUCCESS") == 4


def test_optional_bearer_token(rows, settings):
    settings.MATE_METRICS_TOKEN = "scrape-me"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    samples = scrape(HTTP_AUTHORIZATION="Bearer scrape-me")
    assert value(samples, "mate_jobs", status="DONE", outcome="FAILURE") == 1


def test_metrics_reveal_no_tenant(rows):
    text = Client().get("/metrics").content.decode()
    assert str(rows.tenant.uid) not in text and "Acme" not in text
