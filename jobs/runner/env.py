"""The container environment: the contract with the agent runtime (SPEC §6.3).

Mate's own names come first and always win: an agent's ``env`` is appended after them, may never
set a ``MATE_*`` name, and never replaces a variable Mate set (the LLM key and its base URL
included), whatever layer of configuration it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from jobs.models import Job
from jobs.runner import hardening
from jobs.runner.task import build_task
from tenants.models import LLMProvider

OPENROUTER_ANTHROPIC_BASE_URL = "https://openrouter.ai/api"
# Linux refuses a single "NAME=value" string over 128 KiB at exec time; stay below it.
MAX_VALUE_BYTES = 120_000


@dataclass
class ContainerEnv:
    values: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def _bounded(name: str, value: object, warnings: list[str]) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\x00", "")
    raw = text.encode("utf-8")
    if len(raw) > MAX_VALUE_BYTES:
        text = raw[:MAX_VALUE_BYTES].decode("utf-8", "ignore")
        warnings.append(f"{name} was cut to {MAX_VALUE_BYTES} bytes (an environment limit)")
    return text


def clone_url(gitlab_url: str, project_path: str) -> str:
    return f"{gitlab_url.rstrip('/')}/{project_path}.git"


def llm_env(provider: str, key: str) -> dict[str, str]:
    """The tenant's LLM key in the shape claude-code expects for its provider.

    For Anthropic, the operator's ``MATE_ANTHROPIC_BASE_URL`` (an LLM gateway or proxy in front
    of the Anthropic API) becomes ``ANTHROPIC_BASE_URL``; unset, claude-code uses its default.
    """
    if not key:
        return {}
    if provider == LLMProvider.OPENROUTER:
        return {"OPENROUTER_API_KEY": key, "ANTHROPIC_BASE_URL": OPENROUTER_ANTHROPIC_BASE_URL}
    values = {"ANTHROPIC_AUTH_TOKEN": key}
    base_url = (settings.MATE_ANTHROPIC_BASE_URL or "").strip().rstrip("/")
    if base_url:
        values["ANTHROPIC_BASE_URL"] = base_url
    return values


def build_env(
    job: Job,
    *,
    job_token: str,
    clone_token: str,
    tool_base_url: str,
    llm_key: str,
) -> ContainerEnv:
    """Every variable the container gets, in order: Mate's contract, the LLM key, agent env."""
    snap = job.snapshot
    agent = snap.get("agent") or {}
    project_path = (snap.get("project") or {}).get("path") or job.project_path
    event = snap.get("event") or {}
    ref = (snap.get("config") or {}).get("ref") or event.get("project_default_branch") or ""
    base = tool_base_url.rstrip("/")
    warnings: list[str] = []
    contract = {
        "MATE_JOB_TOKEN": job_token,
        "MATE_TOOL_URL": f"{base}/tools/",
        "MATE_MCP_URL": f"{base}/mcp",
        "MATE_GITLAB_URL": job.tenant.gitlab_url.rstrip("/"),
        "MATE_CLONE_URL": clone_url(job.tenant.gitlab_url, project_path),
        "MATE_CLONE_TOKEN": clone_token,
        "MATE_REF": ref,
        "MATE_MODEL": agent.get("model", ""),
        "MATE_BACKEND": agent.get("backend", ""),
        "MATE_SYSTEM_PROMPT": agent.get("system_prompt", ""),
        "MATE_TASK": build_task(snap),
        "HOME": hardening.HOME,
    }
    values = {name: _bounded(name, value, warnings) for name, value in contract.items()}
    values.update(llm_env(job.tenant.llm_provider, llm_key))
    for name, value in (agent.get("env") or {}).items():
        if name.upper().startswith("MATE_") or name in values:
            warnings.append(f"agent env {name} ignored: Mate sets this variable itself")
            continue
        values[name] = _bounded(name, value, warnings)
    return ContainerEnv(values, warnings)
