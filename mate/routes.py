"""A request path as the route it matched (``/tools/<str:name>``), for logs.

Paths carry text the caller chose, and a job container is a caller: an agent can request
``/tools/<its LLM key>``. Logs therefore name the route pattern, never the raw path, so no
secret, whatever its shape, reaches a log line through a URL (THREATS T19).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import Resolver404, resolve

UNMATCHED = "/[unmatched path]"


def route_of(path: str) -> str:
    static = settings.STATIC_URL or "/static/"
    if path.startswith(static):
        return f"{static}[file]"
    try:
        match = resolve(path)
    except (Resolver404, ValueError):
        return UNMATCHED
    return "/" + (match.route or "").lstrip("^")
