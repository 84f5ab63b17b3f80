"""T3: a delivery about a project on another GitLab instance is accepted, ignored and logged,
before any GitLab request and without a job. (A project of the tenant's own GitLab that the
bot cannot see: tests/jobs/test_routing.py::test_delivery_for_a_project_the_bot_cannot_see_is_ignored.)
"""

from __future__ import annotations

import copy

import pytest

from jobs.models import Delivery, Job, Resolution
from jobs.services import ingest
from jobs.services.routing import process_delivery
from tests.jobs.test_events import REALISTIC
from tests.threats.test_fuzz_webhooks import _on_our_gitlab, tenants

__all__ = ["tenants"]  # fixture reused from the webhook fuzz tests

pytestmark = pytest.mark.django_db


class _NoGitLab:
    def __init__(self, *args, **kwargs) -> None:
        raise AssertionError("routing asked GitLab about a project of another instance")


@pytest.mark.parametrize(("hook", "payload"), REALISTIC, ids=[h for h, _ in REALISTIC])
@pytest.mark.parametrize(
    "web_url",
    [
        "https://gitlab.example/acme/widget",
        "http://127.0.0.1:10/acme/widget",  # same host, another port
        "http://evil.example:9/acme/widget",
    ],
)
def test_a_project_on_another_instance_is_ignored_without_asking_gitlab(
    tenants, monkeypatch, hook, payload, web_url
):
    monkeypatch.setattr("jobs.routing.reads.BotReader", _NoGitLab)
    body = _on_our_gitlab(copy.deepcopy(payload))
    body["project"]["web_url"] = web_url
    delivery, _ = ingest.accept_delivery(
        tenant=tenants["plain"], hook=hook, headers={}, body=body, idempotency_key=None
    )
    process_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PROCESSED
    outcomes = list(delivery.outcomes.all())
    assert outcomes and {o.resolution for o in outcomes} == {Resolution.IGNORED}
    assert all("not on this tenant's GitLab" in o.reason for o in outcomes)
    assert not Job.objects.exists()
