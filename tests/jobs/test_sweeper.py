"""SPEC §5.1: an accepted but unprocessed delivery is found and processed; none is lost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Delivery, DeliveryEvent
from jobs.services.sweeper import requeue_stuck_deliveries
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    from mate.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _delivery(tenant, age_seconds: int, state=Delivery.State.ACCEPTED, key="k") -> Delivery:
    delivery = Delivery.objects.create(
        tenant=tenant,
        idempotency_key=key,
        hook="Push Hook",
        body={"object_kind": "push"},
        state=state,
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - timedelta(seconds=age_seconds)
    )
    return delivery


def test_stuck_delivery_is_processed_once_and_fresh_or_processed_ones_are_left(eager):
    tenant = TenantFactory()
    stuck = _delivery(tenant, 120, key="stuck")
    fresh = _delivery(tenant, 1, key="fresh")  # its own on-commit task may still be coming
    done = _delivery(tenant, 600, state=Delivery.State.PROCESSED, key="done")

    assert requeue_stuck_deliveries() == 1
    stuck.refresh_from_db()
    assert stuck.state == Delivery.State.PROCESSED
    assert list(stuck.outcomes.values_list("resolution", "reason")) == [
        ("ignored", "unsupported hook type Push Hook")
    ]
    fresh.refresh_from_db()
    assert fresh.state == Delivery.State.ACCEPTED
    assert not DeliveryEvent.objects.filter(delivery=done).exists()
    # A second sweep (or a late duplicate task) finds nothing and records nothing twice.
    assert requeue_stuck_deliveries() == 0
    from jobs.services.routing import process_delivery

    process_delivery(stuck.pk)
    assert stuck.outcomes.count() == 1


def test_broker_down_at_enqueue_raises_nothing_and_leaves_it_for_the_sweeper(tmp_path):
    """With the broker unreachable (a closed loopback port), queueing logs a warning and
    returns: the webhook still answers 200 and the sweeper processes the stored row later."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, REDIS_URL="redis://127.0.0.1:1/0", MATE_VAR_DIR=str(tmp_path))
    code = (
        "import django, mate; django.setup()\n"
        "from jobs.services.ingest import enqueue_processing\n"
        "enqueue_processing(4242)\n"
        "print('returned')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("returned")
    assert "could not queue delivery 4242" in result.stderr


def test_the_grace_period_comes_from_the_setting(eager, settings):
    tenant = TenantFactory()
    delivery = _delivery(tenant, 20, key="twenty-seconds-old")
    settings.MATE_SWEEP_GRACE_SECONDS = 60
    assert requeue_stuck_deliveries() == 0
    settings.MATE_SWEEP_GRACE_SECONDS = 10
    assert requeue_stuck_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PROCESSED
