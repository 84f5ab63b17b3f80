"""Benchmark of the configuration language: load + validate + merge + match, per call.

Run: ``.venv/bin/python bench/config_resolve.py [--runs N] [--json PATH]``

Prints min / median / p95 in milliseconds for
- a realistic tenant config (30 agents, 60 triggers) with a .mate.yml overlay,
- a worst case near the 256 KiB cap (long prompts) and one near the 10,000-node cap,
- hostile documents being refused (alias bomb, 10,000-deep nesting, 300 KiB, custom tag).
Webhook routing does the "full route" work once per event, so that line is the one to watch.
Beside it, as a baseline, the YAML parse alone of the same two documents: the parser events
configschema's loader walks (libyaml's C parser when available, else ruamel.yaml's pure-Python
parser), so the floor it cannot avoid.
With ``--json PATH`` the figures (ms) are also written to that file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ruamel.yaml import YAML  # noqa: E402

try:
    from yaml._yaml import CParser  # libyaml, as configschema/libyaml.py reads it
except ImportError:  # pragma: no cover - PyYAML without its C extension
    CParser = None

from configschema import (  # noqa: E402 (the path is set up just above)
    AUTHORITIES,
    EVENTS,
    MAX_BYTES,
    EventFacts,
    match,
    resolve,
    validate_repo,
    validate_tenant,
)

PROMPT_LINE = "Review the change for correctness, security and readability; be concise."


def realistic_tenant(agents: int = 30, triggers: int = 60, prompt_lines: int = 6) -> str:
    """A tenant config as an operator would write it: base agents, extensions, many triggers."""
    lines = ["version: 1", "deny: [merge]", "agents:"]
    for i in range(agents):
        lines.append(f"  agent-{i}:")
        if i % 3 and i > 2:
            lines += [f"    extends: agent-{i - i % 3}", f"    description: variant {i}"]
            lines.append("    permissions: [read, comment]")
            continue
        perms = ", ".join(AUTHORITIES[: 2 + i % 5])
        lines += [
            "    backend: claude-code",
            "    model: anthropic/claude-sonnet-4-6",
            "    system_prompt: |",
            *(f"      {PROMPT_LINE} ({i}.{n})" for n in range(prompt_lines)),
            f"    permissions: [{perms}]",
            "    timeout: 45m",
            "    env: {LOG_LEVEL: info, TZ: UTC}",
        ]
    lines.append("triggers:")
    for i in range(triggers):
        event = EVENTS[i % len(EVENTS)]
        lines += [f"  - on: {event}", f"    agent: agent-{i % agents}", "    deny: [push_branch]"]
        if event == "label_applied":
            lines.append(f"    label: [team-{i}, urgent]")
        elif event == "pipeline_failed":
            lines.append(f"    if: {{ref: 'release/*', project: 'group-{i}/*'}}")
        else:
            lines.append(f"    if: {{project: 'group-{i}/*', labels: [team-{i}]}}")
    lines += ["policies:", "  cooldown: 5m", "  concurrency: 3", "  default_timeout: 1h"]
    return "\n".join(lines) + "\n"


def realistic_repo() -> str:
    lines = ["version: 1", "agents:"]
    for i in (0, 3, 6, 9, 12):
        lines += [f"  agent-{i}:", "    system_prompt_append: |", "      Use Conventional Commits."]
        lines.append("    permissions: [read, comment]")
    lines += ["  docs-writer:", "    extends: agent-6", "    permissions: [read, comment]"]
    lines += ["  triager:", "    extends: agent-0", "    description: labels issues"]
    lines.append("triggers:")
    for i in range(10):
        event = EVENTS[i % len(EVENTS)]
        lines += [f"  - on: {event}", "    agent: docs-writer" if i % 2 else "    agent: triager"]
        if event != "pipeline_failed":
            lines.append(f"    if: {{assignee: [mate-docs], labels: [docs-{i}]}}")
    return "\n".join(lines) + "\n"


def worst_case_bytes() -> str:
    """About 256 KiB (just under the cap): the realistic config with very long prompts."""
    text = realistic_tenant(prompt_lines=1)
    lines_needed = 1
    while len(realistic_tenant(prompt_lines=lines_needed * 2).encode()) < MAX_BYTES:
        lines_needed *= 2
    low, high = lines_needed, lines_needed * 2
    while low + 1 < high:
        mid = (low + high) // 2
        if len(realistic_tenant(prompt_lines=mid).encode()) < MAX_BYTES:
            low = mid
        else:
            high = mid
    text = realistic_tenant(prompt_lines=low)
    assert len(text.encode()) <= MAX_BYTES
    return text


def worst_case_nodes() -> str:
    """Just under the 10,000-node cap: 150 agents and as many triggers as still fit."""
    low, high = 0, 2_000
    while low + 1 < high:
        mid = (low + high) // 2
        if validate_tenant(realistic_tenant(agents=150, triggers=mid, prompt_lines=1)).ok:
            low = mid
        else:
            high = mid
    return realistic_tenant(agents=150, triggers=low, prompt_lines=1)


def events() -> list[EventFacts]:
    return [
        EventFacts(event="mr_opened", object_kind="merge_request", project="group-2/app",
                   labels=("team-2",), target_branch="main", draft=False),
        EventFacts(event="issue_assigned", object_kind="issue", project="group-0/app",
                   assignees=("mate-docs",), labels=("docs-0",)),
        EventFacts(event="pipeline_failed", object_kind="pipeline", ref="release/1",
                   project="group-59/app"),
        EventFacts(event="comment_mention", object_kind="issue", project="nowhere/x"),
    ]  # fmt: skip


def full_route(tenant_text: str, repo_text: str | None, facts: list[EventFacts]) -> None:
    tenant = validate_tenant(tenant_text)
    assert tenant.ok, tenant.problems[:3]
    repo = validate_repo(repo_text, tenant.config) if repo_text is not None else None
    assert repo is None or repo.ok, repo.problems[:3]
    merged = resolve(tenant.config, repo.config if repo else None)
    for event in facts:
        match(merged, event)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up: imports, regex compilation
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(label: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(ordered)
    print(f"{label:<48} {ordered[0]:9.2f} {median:9.2f} {p95:9.2f}   (n={len(ordered)})")
    return {"n": len(ordered), "min": ordered[0], "median": median, "p95": p95}


def yaml_parse_only(tenant_text: str, repo_text: str) -> None:
    """The baseline: the parser events of both documents from the parser configschema's loader
    reads first (libyaml's C parser when PyYAML has it, else ruamel.yaml's pure-Python one),
    with nothing built, checked or merged."""
    from configschema import libyaml

    for text in (tenant_text, repo_text):
        if libyaml.AVAILABLE:
            parser = CParser(text)
            while parser.get_event() is not None:
                pass
            parser.dispose()
        else:
            for _ in YAML(typ="safe", pure=True).parse(text):
                pass


def hostile_documents() -> dict[str, str]:
    bomb = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return {
        "alias bomb (10^9 nodes expanded)": "\n".join(bomb) + "\n",
        "10,000-deep flow nesting": "[" * 10_000 + "]" * 10_000,
        "10,000-deep block sequence": "- " * 10_000 + "x\n",
        "300 KiB file": "version: 1\n# " + "x" * (300 * 1024) + "\n",
        "custom tag": "version: 1\nagents: !!python/object:os.system {}\n",
        "10,001-node flat list": "a: [" + ", ".join(["x"] * 10_001) + "]\n",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    runs = args.runs

    tenant, repo, facts = realistic_tenant(), realistic_repo(), events()
    big, many = worst_case_bytes(), worst_case_nodes()
    valid_tenant = validate_tenant(tenant).config
    repo_config = validate_repo(repo, valid_tenant).config
    merged = resolve(valid_tenant, repo_config)

    print(f"tenant {len(tenant.encode()):,} B, .mate.yml {len(repo.encode()):,} B, "
          f"worst case {len(big.encode()):,} B and {len(many.encode()):,} B")  # fmt: skip
    print(f"{'milliseconds per call':<48} {'min':>9} {'median':>9} {'p95':>9}")
    few = max(5, runs // 3)
    cases = [  # (key in the JSON, label, call, runs)
        ("validate_tenant", "validate tenant (30 agents, 60 triggers)",
         lambda: validate_tenant(tenant), runs),
        ("validate_repo", "validate .mate.yml against it",
         lambda: validate_repo(repo, valid_tenant), runs),
        ("resolve", "resolve (merge)", lambda: resolve(valid_tenant, repo_config), runs),
        ("match_x4", "match x4 events", lambda: [match(merged, f) for f in facts], runs),
        ("full_route", "full route: load+validate+merge+match x4",
         lambda: full_route(tenant, repo, facts), runs),
        ("yaml_parse_only", "baseline: YAML parser events, same documents",
         lambda: yaml_parse_only(tenant, repo), runs),
        ("full_route_256k", "full route, ~256 KiB tenant config",
         lambda: full_route(big, repo, facts), few),
        ("full_route_10k_nodes", "full route, ~10,000-node tenant config",
         lambda: full_route(many, None, facts), few),
    ]  # fmt: skip
    ms = {key: report(label, timed(call, n)) for key, label, call, n in cases}

    print(f"\n{'hostile input, refused':<48} {'min':>9} {'median':>9} {'p95':>9}")
    hostile = {}
    for label, text in hostile_documents().items():
        result = validate_tenant(text)
        assert not result.ok and result.config is None, label
        hostile[label] = report(label, timed(lambda text=text: validate_tenant(text), runs))
        print(f"    -> {result.errors[0].message}")

    figures = {
        "benchmark": "config_resolve",
        "runs": runs,
        "bytes": {"tenant": len(tenant.encode()), "repo": len(repo.encode())},
        "ms": {name: _rounded(s) for name, s in ms.items()},
        "hostile_ms": {name: _rounded(s) for name, s in hostile.items()},
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()}


if __name__ == "__main__":
    main()
