"""Test controls over HTTP, outside GitLab's API (``/-/sim/...``), for a simulator that runs in
another process (``python -m tests.gitlab_sim``). GitLab has no such endpoints; nothing here is
reachable under ``/api/v4``.

- ``GET /-/sim/clock``: ``{"now": "<ISO 8601, UTC>"}``, the simulator's time.
- ``PUT /-/sim/clock`` with ``{"now": "<ISO 8601 with offset>"}``: set it (it runs on from there).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from .routing import Response

if TYPE_CHECKING:
    from .sim import GitLabSim

PREFIX = "/-/sim/"


def _clock(sim: GitLabSim) -> Response:
    return Response(200, {"now": sim.state.now().isoformat()})


def _set_clock(sim: GitLabSim, body: bytes) -> Response:
    try:
        when = dt.datetime.fromisoformat(str(json.loads(body or b"{}")["now"]))
    except (ValueError, KeyError, TypeError):
        return Response(400, {"message": 'give {"now": "<ISO 8601 date and time>"}'})
    if when.tzinfo is None:
        return Response(400, {"message": "now needs a UTC offset, e.g. 2025-01-01T23:55:00+00:00"})
    with sim.state.lock:
        sim.set_clock(when)
    return _clock(sim)


def handle(sim: GitLabSim, method: str, path: str, body: bytes) -> Response:
    """Answer one control request; 404 for anything this module does not know."""
    if path == PREFIX + "clock":
        if method == "GET":
            return _clock(sim)
        if method == "PUT":
            return _set_clock(sim, body)
        return Response(405, {"message": "405 Method Not Allowed"})
    return Response(404, b"Not Found\n", content_type="text/plain")
