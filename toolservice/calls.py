"""One authorization and call path for both transports (SPEC §7.2 steps 2-6).

``call_tool`` takes an authenticated job: rate limits, authority (a tool outside the effective
set answers exactly like a missing one), schema validation, outbound redaction and quick-action
neutralization for writes, the handler (GitLab on the job's project only), then an audit row
and a timeline event, whatever the outcome.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from jobs import timeline
from jobs.models import Job
from mate.jsonsafe import storable
from mate.ratelimit import Limit
from mate.redaction import redact
from toolservice import errors, registry, scope
from toolservice.models import ToolCall
from toolservice.registry import Tool, ToolContext

logger = logging.getLogger(__name__)

AUDIT_VALUE_MAX = 500
AUDIT_ITEMS_MAX = 50
AUDIT_DEPTH_MAX = 6
# Named in an answer whose text had quick-action lines: GitLab shows them, does not run them.
QUICK_ACTIONS_NOTICE = "quick_actions_shown_as_text"


def check_rate(job: Job) -> None:
    """Per-job limits: a burst window and a total per job (SPEC §7.2)."""
    burst = Limit(
        "tool-burst",
        getattr(settings, "MATE_TOOL_BURST", 60),
        getattr(settings, "MATE_TOOL_BURST_SECONDS", 10),
    )
    if burst.hit(str(job.uid)) > burst.limit:
        raise errors.ToolError(errors.RATE_LIMIT, "too many tool calls in a short time; slow down")
    if job.tool_calls >= getattr(settings, "MATE_TOOL_CALLS_PER_JOB", 2000):
        raise errors.ToolError(errors.RATE_LIMIT, "this job has used all of its tool calls")


def audit_value(value: Any, secrets: tuple[str, ...], depth: int = 0) -> Any:
    if depth > AUDIT_DEPTH_MAX:
        return "[nested too deep]"
    if isinstance(value, str):
        text = storable(redact(value, secrets))
        if len(text) > AUDIT_VALUE_MAX:
            return f"{text[:AUDIT_VALUE_MAX]}…[{len(text) - AUDIT_VALUE_MAX} more characters]"
        return text
    if isinstance(value, dict):
        items = list(value.items())[:AUDIT_ITEMS_MAX]
        return {
            audit_value(str(k), secrets, depth)[:100]: audit_value(v, secrets, depth + 1)
            for k, v in items
        }
    if isinstance(value, list | tuple):
        return [audit_value(v, secrets, depth + 1) for v in value[:AUDIT_ITEMS_MAX]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return f"[{type(value).__name__}]"


def audit_secrets(ctx: ToolContext) -> tuple[str, ...]:
    """The tenant's secrets to mask in what is stored; none when they cannot be decrypted."""
    try:
        return scope.tenant_secrets(ctx)
    except Exception:  # undecryptable secrets must not lose the audit row
        logger.warning("tool audit: tenant secrets unavailable for redaction")
        return ()


def audit_arguments(ctx: ToolContext, arguments: Any) -> Any:
    """Arguments as stored: long values cut, token shapes and the tenant's secrets masked."""
    secrets = audit_secrets(ctx) if _has_text(arguments) else ()
    return audit_value(arguments, secrets)


def audit_name(ctx: ToolContext, name: Any) -> str:
    """The tool name as stored. A name that is no tool is the caller's own text (an agent can
    put a secret it holds there), so the tenant's secrets are masked in it too (T19)."""
    text = str(name)
    if text not in {t.name for t in registry.catalogue()}:
        text = redact(text, audit_secrets(ctx))
    return storable(redact(text))[:100]


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) >= 6
    if isinstance(value, dict):
        return any(_has_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_text(v) for v in value)
    return False


def _record(
    ctx: ToolContext,
    name: str,
    arguments: Any,
    transport: str,
    started: float,
    failure: errors.ToolError | None,
    neutralized: dict[str, list] | None = None,
) -> None:
    duration_ms = int((time.monotonic() - started) * 1000)
    if failure is None:
        outcome = ToolCall.Outcome.OK
    else:
        outcome = ToolCall.Outcome.DENIED if failure.denied else ToolCall.Outcome.ERROR
    category = failure.category if failure else ""
    tool_name = audit_name(ctx, name)
    ToolCall.objects.create(
        job=ctx.job,
        tenant=ctx.job.tenant,
        tool=tool_name,
        transport=transport,
        arguments=audit_arguments(ctx, arguments) if arguments is not None else {},
        outcome=outcome,
        error_category=category,
        denial_reason=(failure.reason if failure else "")[:300],
        duration_ms=duration_ms,
        neutralized_commands=audit_arguments(ctx, neutralized) if neutralized else {},
    )
    timeline.append(
        ctx.job,
        "tool_call",
        {"tool": tool_name, "outcome": outcome, "category": category, "duration_ms": duration_ms},
    )


def _run(found: Tool, ctx: ToolContext, arguments: dict[str, Any]) -> Any:
    try:
        return found.handler(ctx, arguments)
    except errors.ToolError:
        raise
    except Exception as exc:
        failure = errors.from_gitlab(exc)
        if failure.reason.startswith("unexpected"):
            logger.exception("tool %s failed unexpectedly", found.name)
        raise failure from None


def call_tool(job: Job, name: str, arguments: Any, *, transport: str) -> Any:
    """Run tool ``name`` for ``job``; raises ToolError (sanitized) on any failure."""
    started = time.monotonic()
    ctx = ToolContext(job)
    failure: errors.ToolError | None = None
    result: Any = None
    neutralized: dict[str, list] = {}
    try:
        check_rate(job)
        found = registry.lookup(job, name)
        registry.validate(found, arguments)
        sent = arguments
        if not found.read_only:
            scope.check_outbound(ctx, arguments)
            sent, neutralized = scope.neutralize_quick_actions(arguments)
        result = _run(found, ctx, sent)
    except errors.ToolError as exc:
        failure = exc
    except Exception:
        logger.exception("tool service failed internally")
        failure = errors.ToolError(errors.UPSTREAM, reason="internal error")
    _record(ctx, name, arguments, transport, started, failure, neutralized)
    if failure is not None:
        raise failure
    if neutralized and isinstance(result, dict):
        result = {**result, QUICK_ACTIONS_NOTICE: neutralized}
    return result


def list_tools(job: Job) -> list[Tool]:
    """The tools this job may use: listing equals the callable set (T10)."""
    return registry.allowed_tools(job)
