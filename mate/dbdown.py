"""503 instead of 500 while the database cannot be reached (THREATS T30).

A request that meets a lost or refused database connection gets ``503 Service Unavailable`` with
``Retry-After``: senders (GitLab's webhook, a browser, a job's tool calls) learn the outage is
temporary, and nothing was stored, so a retry loses nothing. Any other error stays a 500.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from mate.routes import route_of

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning(
            "%s %s: database unavailable (%s); answered 503",
            request.method,
            route_of(request.path),
            type(exception).__name__,
        )
        return JsonResponse(
            {"error": "the database is unavailable; try again shortly"},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
