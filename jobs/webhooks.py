"""``POST /hook/<tenant id>``: authenticate, bound, store, answer (SPEC §5.1; THREATS T1, T2, T18).

Unknown tenants, missing and wrong credentials all get the same empty 401 after the same work.
Failures are counted per (address, tenant id) and answered 429 past the limit; a delivery with
valid credentials is never refused by them (T34). The body is read only after the token matched;
a valid delivery is stored before the 200.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from jobs.services.ingest import accept_delivery
from mate.jsonsafe import loads_strict, storable
from mate.ratelimit import FailureLimit, client_address, pair
from tenants.models import Tenant

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_JSON_DEPTH = 100  # GitLab's payloads nest a handful of levels
DROPPED_HEADERS = frozenset({"x-gitlab-token", "authorization", "cookie", "webhook-signature"})
_DUMMY_SECRET = secrets.token_urlsafe(32)


def _failures() -> FailureLimit:
    return FailureLimit("hook-fail", settings.MATE_WEBHOOK_FAILURES_PER_MINUTE, 60)


def _tenant(tenant_id: str) -> Tenant | None:
    try:
        uid = uuid.UUID(tenant_id)
    except ValueError:
        return None
    return Tenant.objects.filter(uid=uid).first()


def _token_matches(tenant: Tenant | None, presented: str) -> bool:
    expected = tenant.reveal_secret("webhook_secret") if tenant else ""
    # Compare even when there is nothing to compare with, so timing says nothing.
    same = hmac.compare_digest(presented.encode(), (expected or _DUMMY_SECRET).encode())
    return bool(tenant and expected and presented and same)


def signature_valid(secret: str, headers, body: bytes, now: float | None = None) -> bool:
    """Standard Webhooks: HMAC-SHA256 over ``id.timestamp.body``, timestamp within 5 minutes."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and stamp.isdigit() and signatures):
        return False
    if abs((now or time.time()) - int(stamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = raw.encode()
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    candidates = [part.partition(",") for part in signatures.split()]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, _, sig in candidates)


def _read_body(request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` (stops reading at limit + 1)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _storable(value, depth: int = 0):
    """``value`` with NULs and lone surrogates in strings replaced by U+FFFD (valid JSON, but
    the database cannot store them); ValueError when nested deeper than MAX_JSON_DEPTH."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {storable(key): _storable(item, depth + 1) for key, item in value.items()}
    return value


def parse_body(body: bytes):
    """The body as storable JSON; ValueError for what is not JSON (RFC 8259: no NaN or
    Infinity) or cannot be stored (numbers out of range, nesting deeper than MAX_JSON_DEPTH)."""
    return _storable(loads_strict(body))


def _unauthorized(request, tenant_id: str) -> HttpResponse:
    """The answer to a failed credential: the same empty 401, or 429 past the failure limit of
    this (address, tenant id)."""
    if _failures().refuses(pair(client_address(request), tenant_id)):
        return HttpResponse(status=429, headers={"Retry-After": "60"})
    return HttpResponse(status=401)


@csrf_exempt
@require_POST
def receive(request, tenant_id: str) -> HttpResponse:
    tenant = _tenant(tenant_id)
    if not _token_matches(tenant, request.headers.get("X-Gitlab-Token", "")):
        return _unauthorized(request, tenant_id)
    body = _read_body(request, settings.MATE_WEBHOOK_MAX_BYTES)
    if body is None:
        return JsonResponse({"error": "body larger than 25 MiB"}, status=413)
    if tenant.has_secret("webhook_signing_secret") and not signature_valid(
        tenant.reveal_secret("webhook_signing_secret"), request.headers, body
    ):
        return _unauthorized(request, tenant_id)
    try:
        payload = parse_body(body)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return JsonResponse(
            {"error": "body is not JSON; GitLab sends application/json"}, status=400
        )
    if not isinstance(payload, dict):
        return JsonResponse({"error": "body must be a JSON object"}, status=400)
    headers = {
        storable(k): storable(v)
        for k, v in request.headers.items()
        if k.lower() not in DROPPED_HEADERS
    }
    key = request.headers.get("Idempotency-Key") or request.headers.get("X-Gitlab-Event-UUID")
    delivery, created = accept_delivery(
        tenant=tenant,
        hook=storable(request.headers.get("X-Gitlab-Event", "")),
        headers=headers,
        body=payload,
        raw=body,
        idempotency_key=storable(key) if key else key,
    )
    return JsonResponse({"delivery": str(delivery.uid), "duplicate": not created})
