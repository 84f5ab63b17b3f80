"""Admin for support staff: deliveries, outcomes, jobs, events and job tokens, read-only, with a
Cancel action; never a token ciphertext or a credential hash (SPEC §1, T24)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobStatus, JobToken, Outcome
from tests.jobs.console_world import add_event, build_world, make_delivery, make_job

pytestmark = pytest.mark.django_db

TOKEN = "glpat-JOBTOKENcanary0123456789"
HASH = "f" * 64


@pytest.fixture
def rows(db):
    world = build_world()
    job = make_job(world.tenant, status=JobStatus.PENDING, credential_hash=HASH)
    add_event(job, "log", {"line": "hello"})
    token = JobToken(job=job, kind=JobToken.Kind.GITLAB_KEY, gitlab_token_id=5)
    token.set_secret("value", TOKEN)
    token.save()
    delivery = make_delivery(
        world.tenant, outcomes=[{"event": "issue_assigned", "resolution": "dispatched", "job": job}]
    )
    return job, token, delivery


def pages(job, token, delivery):
    for model, obj in [
        (Delivery, delivery),
        (DeliveryEvent, DeliveryEvent.objects.get()),
        (Job, job),
        (JobEvent, JobEvent.objects.filter(job=job).first()),
        (JobToken, token),
    ]:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{prefix}_changelist")
        yield reverse(f"{prefix}_change", args=[obj.pk])


def test_every_page_renders_without_secrets(admin_client, rows):
    job, token, delivery = rows
    for page in pages(job, token, delivery):
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert TOKEN not in html, page
        assert token.value_ciphertext not in html, page
        assert HASH not in html, page
        assert "mate1$" not in html, page


def test_records_are_read_only(admin_client, rows):
    job, token, delivery = rows
    for model, obj in [(Job, job), (Delivery, delivery), (JobToken, token)]:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert admin_client.get(reverse(f"{prefix}_add")).status_code == 403
        assert admin_client.post(reverse(f"{prefix}_change", args=[obj.pk]), {}).status_code == 403
        assert admin_client.get(reverse(f"{prefix}_delete", args=[obj.pk])).status_code == 403


def test_cancel_action(admin_client, rows):
    job, _token, _delivery = rows
    done = make_job(job.tenant, status=JobStatus.DONE, outcome=Outcome.SUCCESS)
    response = admin_client.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "cancel", "_selected_action": [job.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    job.refresh_from_db()
    done.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert job.cancel_reason.startswith("canceled by staff")
    assert done.status == JobStatus.DONE
    assert LogEntry.objects.filter(object_id=str(job.pk)).exists()
