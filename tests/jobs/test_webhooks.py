"""POST /hook/<tenant>: T1 (forged), T2 (replayed), T18 (oversized/malformed), SPEC §5.1."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid

import pytest
from django.test import Client

from jobs.models import Delivery
from tenants import services
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db
SECRET = "hook-secret-for-tests-0123456789"
BODY = {"object_kind": "push", "project": {"id": 1}}


@pytest.fixture
def tenant():
    return TenantFactory(webhook_secret=SECRET)


def post(client, tenant_id, body=BODY, token=SECRET, **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if token is not None:
        extra["HTTP_X_GITLAB_TOKEN"] = token
    return client.post(f"/hook/{tenant_id}", data=raw, content_type="application/json", **extra)


def test_valid_delivery_is_stored_before_the_200_and_queued_on_commit(
    client, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(
            client, tenant.uid, **{"X-Gitlab-Event": "Push Hook", "Idempotency-Key": "k1"}
        )
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery": str(delivery.uid), "duplicate": False}
    assert (delivery.hook, delivery.idempotency_key, delivery.body) == ("Push Hook", "k1", BODY)
    assert len(callbacks) == 1
    tenant.refresh_from_db()
    assert tenant.first_delivery_at == delivery.received_at


def test_token_headers_are_not_stored(client, tenant):
    post(client, tenant.uid, Authorization="Bearer abc", **{"X-Gitlab-Event": "Issue Hook"})
    headers = {k.lower() for k in Delivery.objects.get().headers}
    assert "x-gitlab-token" not in headers and "authorization" not in headers
    assert "x-gitlab-event" in headers


@pytest.mark.parametrize(
    "case", ["missing", "empty", "wrong", "other_tenant", "unknown_tenant", "bad_id"]
)
def test_forged_deliveries_get_the_same_empty_401_and_store_nothing(client, tenant, case):
    other = TenantFactory(webhook_secret="other-tenant-secret-000000")
    target, token = tenant.uid, SECRET
    if case == "missing":
        token = None
    elif case == "empty":
        token = ""
    elif case == "wrong":
        token = SECRET + "x"
    elif case == "other_tenant":
        token = "other-tenant-secret-000000"
    elif case == "unknown_tenant":
        target = uuid.uuid4()
    elif case == "bad_id":
        target = "not-a-uuid"
    response = post(client, target, token=token)
    assert response.status_code == 401
    assert response.content == b""
    assert Delivery.objects.count() == 0
    assert other.deliveries.count() == 0


def test_repeated_failures_from_one_address_are_rate_limited(client, tenant, settings):
    settings.MATE_WEBHOOK_FAILURES_PER_MINUTE = 5
    codes = [post(client, tenant.uid, token="wrong").status_code for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2
    assert post(client, tenant.uid, token="wrong").content == b""
    # The failures are counted for this tenant id: a valid delivery is never refused by them
    # (T34), and the same address guessing another tenant's secret starts from zero.
    assert post(client, tenant.uid).status_code == 200
    assert post(client, uuid.uuid4(), token="wrong").status_code == 401


def test_oversized_body_is_413_without_being_stored(client, tenant, settings):
    settings.MATE_WEBHOOK_MAX_BYTES = 1024
    response = post(client, tenant.uid, body={"pad": "x" * 2000})
    assert response.status_code == 413
    assert Delivery.objects.count() == 0


def test_26_mib_body_is_refused(client, tenant):
    big = b'{"pad": "' + b"x" * (26 * 1024 * 1024) + b'"}'
    assert post(client, tenant.uid, body=big).status_code == 413
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe", b"[1, 2]", b'"string"'])
def test_non_json_with_a_valid_token_is_400(client, tenant, raw):
    response = post(client, tenant.uid, body=raw)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]
    assert Delivery.objects.count() == 0


def test_non_json_with_a_bad_token_is_401(client, tenant):
    assert post(client, tenant.uid, body=b"not json", token="nope").status_code == 401


def test_same_idempotency_key_twice_is_answered_200_and_processed_once(
    client, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = post(client, tenant.uid, **{"Idempotency-Key": "same"})
        second = post(client, tenant.uid, **{"Idempotency-Key": "same"})
    assert first.status_code == second.status_code == 200
    assert second.json() == {"delivery": first.json()["delivery"], "duplicate": True}
    assert Delivery.objects.count() == 1
    assert len(callbacks) == 1


def test_a_duplicate_inside_a_surrounding_transaction_leaves_it_usable(tenant):
    from django.db import transaction

    from jobs.services import ingest

    fields = {"hook": "Issue Hook", "headers": {}, "body": BODY, "idempotency_key": "dup"}
    with transaction.atomic():
        first, created = ingest.accept_delivery(tenant=tenant, **fields)
        again, created_again = ingest.accept_delivery(tenant=tenant, **fields)
        # the failed INSERT was rolled back to its own savepoint: the outer transaction goes on
        assert Delivery.objects.filter(tenant=tenant).count() == 1
    assert (created, created_again, again.pk) == (True, False, first.pk)


def test_event_uuid_is_the_fallback_key(client, tenant):
    post(client, tenant.uid, **{"X-Gitlab-Event-UUID": "evt-1"})
    post(client, tenant.uid, **{"X-Gitlab-Event-UUID": "evt-1"})
    assert list(Delivery.objects.values_list("idempotency_key", flat=True)) == ["evt-1"]


def test_other_tenants_key_space_is_separate(client, tenant):
    other = TenantFactory(webhook_secret="other-tenant-secret-000000")
    post(client, tenant.uid, **{"Idempotency-Key": "k"})
    post(client, other.uid, token="other-tenant-secret-000000", **{"Idempotency-Key": "k"})
    assert Delivery.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_copies_store_one_delivery():
    tenant = TenantFactory(webhook_secret=SECRET)
    results, barrier = [], threading.Barrier(20)

    def send():
        barrier.wait()
        results.append(post(Client(), tenant.uid, **{"Idempotency-Key": "parallel"}).json())

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Delivery.objects.filter(tenant=tenant).count() == 1
    assert sorted(r["duplicate"] for r in results) == [False] + [True] * 19


def _sign(secret, msg_id, stamp, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_signed_deliveries_need_a_valid_fresh_signature(client, tenant):
    signing = services.rotate_signing_secret(tenant=tenant)
    body = json.dumps(BODY).encode()
    now = str(int(time.time()))
    good = _sign(signing, "msg_1", now, body)
    stale = str(int(time.time()) - 301)

    def send(signature, stamp, key):
        return post(
            client,
            tenant.uid,
            body=body,
            **{
                "webhook-id": "msg_1",
                "webhook-timestamp": stamp,
                "webhook-signature": signature,
                "Idempotency-Key": key,
            },
        )

    assert send(good, now, "a").status_code == 200
    assert send("v1,AAAA " + good, now, "b").status_code == 200  # any listed v1 signature
    assert send(_sign(signing, "msg_1", stale, body), stale, "c").status_code == 401
    assert send("v1,bm9wZQ==", now, "d").status_code == 401
    assert post(client, tenant.uid, body=body, **{"Idempotency-Key": "e"}).status_code == 401
    assert Delivery.objects.count() == 2


def test_get_is_not_allowed(client, tenant):
    assert client.get(f"/hook/{tenant.uid}").status_code == 405


def _unreachable_cache(settings) -> None:
    """A Redis cache on a port nothing listens on (Redis restarting, THREATS T30)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }


def test_a_valid_delivery_is_accepted_while_the_cache_is_down(client, tenant, settings, caplog):
    _unreachable_cache(settings)
    response = post(client, tenant.uid, **{"X-Gitlab-Event": "Push Hook", "Idempotency-Key": "c1"})
    assert response.status_code == 200
    assert Delivery.objects.get().idempotency_key == "c1"
    # A forged one is still refused; only the throttle is off, and that is logged.
    assert post(client, tenant.uid, token="wrong").status_code == 401
    assert "rate limit hook-fail not enforced: the cache is unreachable" in caplog.text


def test_database_outage_is_a_503_with_retry_after(client, tenant, monkeypatch, caplog):
    from django.db import OperationalError

    from jobs import webhooks

    def refused(_tenant_id):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(webhooks, "_tenant", refused)
    response = post(client, tenant.uid, **{"X-Gitlab-Event": "Push Hook"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"error": "the database is unavailable; try again shortly"}
    assert "127.0.0.1" not in response.content.decode()
    assert "/hook/<str:tenant_id>: database unavailable (OperationalError)" in caplog.text


def test_other_errors_stay_500(client, tenant, monkeypatch):
    from jobs import webhooks

    def broken(_tenant_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr(webhooks, "_tenant", broken)
    client.raise_request_exception = False
    assert post(client, tenant.uid).status_code == 500


# -- bounded storage (SPEC §5.1, THREATS T44) ---------------------------------------------------


def test_an_ignored_hook_type_keeps_its_headers_and_first_64_kib_marked_as_cut(client, tenant):
    raw = json.dumps({"object_kind": "push", "pad": "é" * (200 * 1024)}).encode()
    response = post(client, tenant.uid, body=raw, **{"X-Gitlab-Event": "Push Hook"})
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.body_cut, delivery.body, delivery.received_bytes) == (True, None, len(raw))
    assert len(delivery.body_head.encode()) <= 64 * 1024
    assert delivery.body_head == raw[: 64 * 1024].decode("utf-8", "ignore")
    assert delivery.headers["X-Gitlab-Event"] == "Push Hook"


def test_small_ignored_and_large_supported_deliveries_are_kept_whole(client, tenant):
    post(client, tenant.uid, **{"X-Gitlab-Event": "Tag Push Hook"})
    big = {"object_kind": "issue", "pad": "x" * (100 * 1024)}
    post(client, tenant.uid, body=big, **{"X-Gitlab-Event": "Issue Hook"})
    small, issue = Delivery.objects.order_by("pk")
    assert (small.body_cut, small.body, small.body_head) == (False, BODY, "")
    assert (issue.body_cut, issue.body) == (False, big)


def test_past_the_tenants_delivery_rate_deliveries_are_200_compact_and_ignored(
    client, tenant, settings, django_capture_on_commit_callbacks
):
    settings.MATE_TENANT_DELIVERIES_PER_MINUTE = 3
    other = TenantFactory(webhook_secret="other-tenant-secret-000000")
    big = {"object_kind": "issue", "pad": "x" * (100 * 1024)}
    with django_capture_on_commit_callbacks() as queued:
        codes = [
            post(client, tenant.uid, body=big, **{"X-Gitlab-Event": "Issue Hook"}).status_code
            for _ in range(5)
        ]
        other_code = post(client, other.uid, token="other-tenant-secret-000000").status_code
    assert codes == [200] * 5 and other_code == 200
    assert len(queued) == 3 + 1  # the tenant's first three and the other tenant's one
    kept = list(Delivery.objects.filter(tenant=tenant).order_by("pk"))
    assert [d.body_cut for d in kept] == [False, False, False, True, True]
    for delivery in kept[3:]:
        assert delivery.state == Delivery.State.PROCESSED
        (outcome,) = delivery.outcomes.all()
        assert (outcome.resolution, outcome.reason) == (
            "ignored",
            "over the tenant's delivery rate",
        )
    assert not any(d.outcomes.exists() for d in kept[:3])
