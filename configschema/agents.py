"""``agents:`` entries (SPEC §4.3): fields, their types, and what each layer may set."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from configschema.authorities import read_authorities
from configschema.envvars import read_env
from configschema.model import AgentSpec, Layer
from configschema.nodes import Node, Scalar, child_path, describe
from configschema.problems import Pos, ProblemSink
from configschema.readers import MAX_TIMEOUT, as_bool, as_duration, as_map, as_str, as_text, entries

BACKENDS = ("claude-code", "copilot", "aider")
AGENT_KEYS = (
    "backend",
    "model",
    "system_prompt",
    "system_prompt_append",
    "permissions",
    "description",
    "image",
    "timeout",
    "extends",
    "env",
    "keep_container",
)
RESOURCES_MESSAGE = "resources: was removed; container CPU and memory come from the plan tier"
_LAYER_ONLY = {
    "tenant": {
        "system_prompt_append": "system_prompt_append: is only allowed in .mate.yml; "
        "the tenant config sets the whole system_prompt",
    },
    "repo": {
        "image": "image: is not allowed in .mate.yml; only the tenant config may choose "
        "the image that receives the tenant's LLM key",
        "keep_container": "keep_container: is not allowed in .mate.yml; only the tenant config "
        "may keep containers",
    },
}
# "vendor/model" (OpenRouter) or "model" (Anthropic); ids never contain blanks.
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]*(?:/[A-Za-z0-9][A-Za-z0-9._:@+-]*)?\Z")
_IMAGE = re.compile(r"[^\s]+\Z")


def read_agents(
    node: Node, sink: ProblemSink, layer: Layer, *, onprem: bool
) -> tuple[dict[str, AgentSpec], set[str]]:
    """The agents of one document, and every agent name written (including broken entries,
    so that triggers naming them are not reported a second time)."""
    specs: dict[str, AgentSpec] = {}
    names: set[str] = set()
    if isinstance(node, Scalar) and node.tag == "null":
        return specs, names
    mapping = as_map(node, "agents", sink, "a mapping of agent names to agents")
    if mapping is None:
        return specs, names
    for key, value in mapping.entries:
        path = child_path("agents", str(key.value))
        if key.tag != "str" or not str(key.value).strip():
            sink.error(key, path, f"agent names must be non-empty strings, got {describe(key)}")
            continue
        names.add(str(key.value))
        spec = read_agent(str(key.value), value, sink, layer, onprem=onprem)
        if spec is not None:
            specs[spec.name] = spec
    return specs, names


def read_agent(
    name: str, node: Node, sink: ProblemSink, layer: Layer, *, onprem: bool
) -> AgentSpec | None:
    """One agent entry as written, or None when it is not a mapping."""
    path = child_path("agents", name)
    mapping = as_map(node, path, sink, "an agent (a mapping of fields)")
    if mapping is None:
        return None
    special = {"resources": RESOURCES_MESSAGE, **_LAYER_ONLY[layer]}
    allowed = tuple(k for k in AGENT_KEYS if k not in special)
    found = entries(mapping, path, sink, allowed, special)
    values: dict[str, Any] = {}
    positions: dict[str, Pos] = {}
    for field_name, (_key, value) in found.items():
        positions[field_name] = Pos(value.line, value.column)
        read = _field_reader(field_name, layer)
        values[field_name] = read(value, child_path(path, field_name), sink)
    _cross_checks(path, found, values, sink, layer=layer, onprem=onprem)
    values = {k: v for k, v in values.items() if v is not None}
    return AgentSpec(name=name, at=Pos(mapping.line, mapping.column), positions=positions, **values)


def _field_reader(name: str, layer: Layer) -> Callable[[Node, str, ProblemSink], Any]:
    readers: dict[str, Callable[[Node, str, ProblemSink], Any]] = {
        "backend": _backend,
        "model": _model,
        "system_prompt": as_text,
        "system_prompt_append": as_text,
        "permissions": lambda n, p, s: read_authorities(n, p, s, required=True),
        "description": as_text,
        "image": _image,
        "timeout": lambda n, p, s: as_duration(n, p, s, positive=True, limit=MAX_TIMEOUT),
        "extends": lambda n, p, s: as_str(n, p, s, "the name of a base agent"),
        "env": lambda n, p, s: read_env(n, p, s, layer),
        "keep_container": as_bool,
    }
    return readers[name]


def _cross_checks(
    path: str,
    found: dict[str, tuple[Scalar, Node]],
    values: dict[str, Any],
    sink: ProblemSink,
    *,
    layer: Layer,
    onprem: bool,
) -> None:
    """Rules that involve more than one field, or the deployment."""
    if "system_prompt_append" in found and "system_prompt" in found:
        key = found["system_prompt_append"][0]
        sink.error(
            key,
            child_path(path, "system_prompt_append"),
            "system_prompt_append cannot be used together with system_prompt on the same agent; "
            "keep one of them",
        )
    backend = values.get("backend")
    if backend in ("copilot", "aider"):
        sink.warning(
            found["backend"][1],
            child_path(path, "backend"),
            f"backend {backend} is accepted but runs the claude-code adapter",
        )
    if layer == "tenant" and "keep_container" in found and not onprem:
        sink.warning(
            found["keep_container"][1],
            child_path(path, "keep_container"),
            "keep_container is ignored: it is honoured only when Mate runs in on-prem mode "
            "(MATE_DEPLOYMENT=onprem)",
        )


def _backend(node: Node, path: str, sink: ProblemSink) -> str | None:
    value = as_str(node, path, sink, "a backend name")
    if value is not None and value not in BACKENDS:
        sink.error(node, path, f"unknown backend {value}; expected one of: {', '.join(BACKENDS)}")
        return None
    return value


def _model(node: Node, path: str, sink: ProblemSink) -> str | None:
    value = as_str(node, path, sink, "a model id")
    if value is not None and not _MODEL.match(value):
        sink.error(
            node,
            path,
            f"{value!r} is not a model id; use an OpenRouter id such as "
            "anthropic/claude-sonnet-4-6 or an Anthropic id such as claude-sonnet-4-6",
        )
        return None
    return value


def _image(node: Node, path: str, sink: ProblemSink) -> str | None:
    value = as_str(node, path, sink, "a container image reference")
    if value is not None and not _IMAGE.match(value):
        sink.error(node, path, f"{value!r} is not an image reference (it contains blanks)")
        return None
    return value
