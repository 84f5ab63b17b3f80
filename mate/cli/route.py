"""``mate route``: run the routing of SPEC §5 on a saved GitLab payload, offline (SPEC §4.11).

No database and no GitLab: the repo file, if given, stands in for the fetched ``.mate.yml``.
It uses the same event detection (``jobs.events``) and decision (``jobs.routing.decide``) as
live routing; the database gates (suspension, loop breaker, cooldown, queue) are not applied.
What live routing asks GitLab (the confirmation of the delivery, the actor's role, a username
behind an id, the bot an MR's pipeline goes to) is listed under ``needs_gitlab`` instead of
guessed (``jobs.routing.offline``): the payload's answer is shown, GitLab's may differ.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

import configschema
from jobs.events import BotRef, derive_events
from jobs.routing.decide import decide
from jobs.routing.offline import needs_gitlab

help = "route a saved GitLab webhook payload through a tenant config (and a .mate.yml), offline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, metavar="T.yml")
    parser.add_argument("--repo", metavar="R.yml", help="stands in for the fetched .mate.yml")
    parser.add_argument(
        "--bot",
        action="append",
        required=True,
        metavar="USERNAME",
        help="a registered bot (repeat; the first is the default bot)",
    )
    parser.add_argument(
        "--event-type", required=True, help='the X-Gitlab-Event value, e.g. "Note Hook"'
    )
    parser.add_argument("--payload", required=True, metavar="P.json")
    parser.add_argument("--json", action="store_true")


def _read(path: str, err: TextIO) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        err.write(f"mate route: cannot read {path}: {exc.strerror or exc}\n")
        return None


def _bot_refs(usernames: list[str], payload: Any) -> list[BotRef]:
    """Bots with the GitLab user ids the payload shows for them (offline, ids come from there)."""
    found: dict[str, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name, uid = node.get("username"), node.get("id")
            if isinstance(name, str) and isinstance(uid, int) and name in usernames:
                found.setdefault(name, uid)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload)
    return [BotRef(found.get(name, -1 - i), name) for i, name in enumerate(usernames)]


def run(options: dict, out: TextIO, err: TextIO) -> int:
    texts = {key: _read(options[key], err) for key in ("tenant", "payload")}
    if options.get("repo"):
        texts["repo"] = _read(options["repo"], err)
    if any(value is None for value in texts.values()):
        return 2
    try:
        payload = json.loads(texts["payload"])
    except json.JSONDecodeError as exc:
        err.write(
            f"mate route: {options['payload']} is not JSON ({exc.msg} at line {exc.lineno})\n"
        )
        return 2
    tenant = configschema.validate_tenant(texts["tenant"])
    if not tenant.ok:
        for problem in tenant.problems:
            err.write(problem.format(options["tenant"]) + "\n")
        return 1
    bots = _bot_refs(options["bot"], payload)
    derivation = derive_events(options["event_type"], payload, bots, bots[0].username)
    rows = [_row(event, tenant.config, texts.get("repo"), options) for event in derivation.events]
    if options["json"]:
        out.write(json.dumps({"events": rows, "ignored": derivation.ignored}, indent=2) + "\n")
    else:
        _print(rows, derivation.ignored, out)
    return 0


def _row(event, tenant_config, repo_text, options) -> dict:
    decision = decide(event, tenant_config, repo_text, repo_file=options.get("repo") or ".mate.yml")
    refused = None
    if decision.resolution != "matched":
        refused = f"{decision.resolution}: {decision.reason}"
    row = {
        "event": event.event,
        "bot": event.bot,
        "config_ref": event.config_ref,
        "trigger": decision.trigger,
        "agent": decision.match.agent.name if decision.match else None,
        "authorities": decision.authorities,
        "refused": refused,
        "needs_gitlab": needs_gitlab(event, decision, tenant_config.policies.min_actor_role),
    }
    if decision.problems:
        row["problems"] = decision.problems
    return row


def _print(rows: list[dict], ignored: str | None, out: TextIO) -> None:
    if not rows:
        out.write(f"no event: {ignored}\n")
    for row in rows:
        trigger = row["trigger"]
        where = f"{trigger['origin']} trigger #{trigger['index']}" if trigger else "no trigger"
        out.write(f"{row['event']} (bot @{row['bot']}, config at {row['config_ref']}): {where}")
        if row["agent"]:
            out.write(f" -> agent {row['agent']} [{', '.join(row['authorities'])}]")
        out.write(f"\n  refused: {row['refused']}\n" if row["refused"] else "\n")
        for need in row["needs_gitlab"]:
            out.write(f"  needs GitLab: {need}\n")
        for problem in row.get("problems", []):
            out.write(
                f"  {problem['line']}:{problem['column']}: {problem['path']}: {problem['message']}\n"
            )
