"""The one tool registry both transports share (SPEC §7.1, §7.4).

Each tool has a name, the authorities that unlock it (any of them; none means every job may
call it), a JSON schema for its arguments and a handler ``(ToolContext, arguments) -> result``.
Tool modules register themselves on import; ``catalogue()`` imports them all.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import gitlab
from jsonschema import Draft202012Validator

from jobs import credentials
from jobs.models import Job
from toolservice import errors

# SPEC §4.7. approve_mr is deliberately absent: it is not grantable and no tool exists for it.
AUTHORITIES = frozenset(
    {"read", "comment", "push_branch", "push_mr_branch", "open_mr", "touch_ci", "merge"}
)
TOOL_MODULES = ("context", "issues", "merge_requests", "repository", "pipelines")
ORDER = (
    "get_job_context",
    "get_issue",
    "list_issue_notes",
    "get_merge_request",
    "get_merge_request_diff",
    "list_merge_request_notes",
    "get_file",
    "list_tree",
    "get_pipeline",
    "get_job_log",
    "create_issue_note",
    "create_merge_request_note",
    "create_branch",
    "commit_files",
    "create_merge_request",
    "merge_merge_request",
)

Handler = Callable[["ToolContext", dict[str, Any]], Any]


@dataclass(frozen=True)
class Tool:
    name: str
    authorities: tuple[str, ...]  # any of these unlocks the tool; () = every job
    description: str
    schema: dict[str, Any]
    handler: Handler
    read_only: bool = True
    validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(self.schema)
        object.__setattr__(self, "validator", Draft202012Validator(self.schema))

    def allowed_for(self, authorities: frozenset[str]) -> bool:
        return not self.authorities or any(a in authorities for a in self.authorities)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.schema}


_REGISTRY: dict[str, Tool] = {}


def tool(
    name: str,
    *,
    authority: str | tuple[str, ...] | None,
    description: str,
    schema: dict[str, Any],
    read_only: bool = True,
) -> Callable[[Handler], Handler]:
    """Register the decorated handler as tool ``name``."""
    needs = () if authority is None else (authority,) if isinstance(authority, str) else authority
    unknown = set(needs) - AUTHORITIES
    if unknown:
        raise ValueError(f"tool {name}: unknown authorities {sorted(unknown)}")

    def register(handler: Handler) -> Handler:
        if name in _REGISTRY:
            raise ValueError(f"tool {name} registered twice")
        _REGISTRY[name] = Tool(name, needs, description, schema, handler, read_only)
        return handler

    return register


def catalogue() -> list[Tool]:
    """Every tool, in catalogue order (SPEC §7.4)."""
    for module in TOOL_MODULES:
        importlib.import_module(f"toolservice.tools.{module}")
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(_REGISTRY.values(), key=lambda t: rank.get(t.name, len(rank)))


def job_authorities(job: Job) -> frozenset[str]:
    """The job's frozen effective authority set (unknown strings are ignored)."""
    granted = (job.snapshot or {}).get("authorities") or []
    return frozenset(a for a in granted if isinstance(a, str)) & AUTHORITIES


def allowed_tools(job: Job) -> list[Tool]:
    authorities = job_authorities(job)
    return [t for t in catalogue() if t.allowed_for(authorities)]


def lookup(job: Job, name: str) -> Tool:
    """The tool if it exists and the job may use it; otherwise the unknown-tool answer, with
    the real reason kept for the audit log."""
    catalogue()
    found = _REGISTRY.get(name) if isinstance(name, str) else None
    if found is None:
        raise errors.unknown_tool("no such tool")
    if not found.allowed_for(job_authorities(job)):
        needs = " or ".join(found.authorities)
        raise errors.unknown_tool(f"outside the effective set (needs {needs})")
    return found


def _describe(error) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "arguments"
    value = error.validator_value
    texts = {
        "type": f"must be of type {value}",
        "maxLength": f"is longer than {value} characters",
        "minLength": f"is shorter than {value} characters",
        "maximum": f"must be at most {value}",
        "minimum": f"must be at least {value}",
        "maxItems": f"has more than {value} items",
        "minItems": f"has fewer than {value} items",
        "enum": f"must be one of {value}",
        "pattern": "has an invalid format",
    }
    text = texts.get(error.validator)
    if text is None:
        text = error.message if error.validator in ("required", "additionalProperties") else ""
        text = text or f"fails the {error.validator} rule"
    return f"{where}: {text}"[:300]


def validate(found: Tool, arguments: Any) -> dict[str, Any]:
    """Check ``arguments`` against the tool's schema (SPEC §7.2 step 4)."""
    if not isinstance(arguments, dict):
        raise errors.ToolError(errors.VALIDATION, "arguments must be a JSON object")
    problems = sorted(found.validator.iter_errors(arguments), key=lambda e: list(e.path))
    if problems:
        raise errors.ToolError(errors.VALIDATION, _describe(problems[0]))
    return arguments


class ToolContext:
    """What a handler gets: the job record and a GitLab client bound to the job's project.

    Every resource is resolved from here; handlers never take a project from arguments.
    """

    def __init__(self, job: Job) -> None:
        self.job = job

    @cached_property
    def authorities(self) -> frozenset[str]:
        return job_authorities(self.job)

    @cached_property
    def gl(self) -> gitlab.Gitlab:
        """The job's GitLab client. A 429 is handed to the agent as ``rate_limit`` at once
        instead of sleeping through Retry-After inside a web worker."""
        client = credentials.gitlab_client_for(self.job)
        client.http_request = functools.partial(  # type: ignore[method-assign]
            client.http_request, obey_rate_limit=False
        )
        return client

    @cached_property
    def project(self):
        """The job's project, lazily (no request until an attribute or manager is used)."""
        return self.gl.projects.get(self.job.project_id, lazy=True)

    @cached_property
    def project_info(self) -> dict[str, Any]:
        """GET /projects/:id, fetched once per call when a scope rule needs it."""
        return self.gl.projects.get(self.job.project_id).attributes

    @property
    def snapshot(self) -> dict[str, Any]:
        return self.job.snapshot or {}

    @property
    def object(self) -> dict[str, Any]:
        return self.snapshot.get("object") or {}

    @property
    def event(self) -> dict[str, Any]:
        return self.snapshot.get("event") or {}
