"""The simulator's webhook headers against the set GitLab's WebHookService sends."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

GITLAB = json.loads((Path(__file__).parent / "gitlab_headers.json").read_text())
TRANSPORT = {"host", "content-length", "accept-encoding", "connection"}


def _names(headers: dict) -> set[str]:
    return {k.lower() for k in headers} - TRANSPORT


def test_headers_are_gitlabs(world, receiver) -> None:
    world.sim.add_hook(world.project, receiver.url)
    world.sim.open_issue(world.project, "Broken", world.users["reporter"])
    world.sim.add_hook(world.project, receiver.url, token="s3cret\n")
    world.sim.open_issue(world.project, "Broken again", world.users["reporter"])
    plain, first, second = (r["headers"] for r in receiver.requests)  # second: token hook
    always = {h.lower() for h in GITLAB["always"]}
    assert _names(plain) == _names(first) == always
    assert _names(second) == always | {h.lower() for h in GITLAB["with_token"]}
    assert second["X-Gitlab-Token"] == "s3cret"  # Gitlab::Utils.remove_line_breaks
    assert plain["Content-Type"] == GITLAB["content_type"]
    assert re.fullmatch(GITLAB["user_agent_pattern"], plain["User-Agent"])
    assert plain["X-Gitlab-Instance"] == world.sim.url
    for name in GITLAB["uuid_headers"]:
        uuid.UUID(plain[name])
    # One event, two hooks: each its own event UUID (uuid.rb keeps one per hook id), key and
    # request UUID, which is why Mate deduplicates by the event's identity (SPEC §5.1).
    assert first["X-Gitlab-Event-UUID"] != second["X-Gitlab-Event-UUID"]
    assert first["Idempotency-Key"] != second["Idempotency-Key"]
    assert first["X-Gitlab-Webhook-UUID"] != second["X-Gitlab-Webhook-UUID"]
