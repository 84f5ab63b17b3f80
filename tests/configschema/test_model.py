"""configschema.model: value objects and their JSON snapshots."""

from __future__ import annotations

import json
from datetime import timedelta

from configschema.model import AgentSpec, ResolvedAgent, Trigger
from configschema.problems import Pos


def test_resolved_agent_snapshot_is_json_ready() -> None:
    agent = ResolvedAgent(
        name="r",
        backend="claude-code",
        model="m",
        system_prompt="p",
        permissions=("read",),
        timeout=timedelta(minutes=90),
        env={"A": "1"},
        origin="repo",
        base="reviewer",
    )
    snapshot = agent.to_dict()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["timeout"] == "1h30m"
    assert (snapshot["origin"], snapshot["base"], snapshot["permissions"]) == (
        "repo",
        "reviewer",
        ["read"],
    )


def test_trigger_to_dict() -> None:
    trigger = Trigger(on="mr_opened", agent="r", origin="repo", index=3)
    assert trigger.to_dict() == {"origin": "repo", "index": 3, "on": "mr_opened", "agent": "r"}


def test_agent_spec_positions_fall_back_to_the_entry() -> None:
    spec = AgentSpec(name="a", at=Pos(4, 3), positions={"model": Pos(5, 12)})
    assert spec.pos("model") == Pos(5, 12)
    assert spec.pos("permissions") == Pos(4, 3)
