"""``GET /healthz``: 200 when the database and the broker answer, else 503 naming what is down."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from mate.celery import app as celery_app


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return type(exc).__name__
    return None


def _check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return type(exc).__name__
    return None


@require_GET
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    down = sorted(name for name, error in checks.items() if error)
    body = {
        "status": "ok" if not down else "down",
        "checks": {
            name: ("ok" if error is None else f"down ({error})") for name, error in checks.items()
        },
    }
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
