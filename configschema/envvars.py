"""``env:`` of an agent (SPEC §4.8): names, values, and the names a layer may not set."""

from __future__ import annotations

import re

from configschema.model import Layer
from configschema.nodes import Node, Scalar, child_path
from configschema.problems import ProblemSink
from configschema.readers import as_map, expected

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED_PREFIX = "MATE_"
# Names a .mate.yml may not set: they steer where the LLM key and the agent's traffic go.
REPO_FORBIDDEN_PREFIXES = ("ANTHROPIC_", "OPENROUTER_", "CLAUDE_", "GIT_", "SSH_")
REPO_FORBIDDEN_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


def env_name_problem(name: str, layer: Layer) -> str | None:
    """Why ``name`` may not be set in this layer, or None when it may.

    Names are compared case-insensitively: ``http_proxy`` is honoured as widely as
    ``HTTP_PROXY``, and refusing a lower-case twin of a reserved name costs nobody anything.
    """
    if not ENV_NAME.match(name):
        return f"env name {name!r} is not valid; names match [A-Za-z_][A-Za-z0-9_]*"
    upper = name.upper()
    if upper.startswith(RESERVED_PREFIX):
        return f"env name {name} is reserved: names starting with MATE_ belong to Mate"
    if layer == "repo" and (
        upper.startswith(REPO_FORBIDDEN_PREFIXES) or upper in REPO_FORBIDDEN_NAMES
    ):
        return (
            f"env name {name} is not allowed in .mate.yml: it steers credentials or traffic; "
            "only the tenant config may set it"
        )
    return None


def read_env(node: Node, path: str, sink: ProblemSink, layer: Layer) -> dict[str, str] | None:
    """A mapping of environment variable names to string values."""
    mapping = as_map(node, path, sink, "a mapping of variable names to strings")
    if mapping is None:
        return None
    env: dict[str, str] = {}
    for key, value in mapping.entries:
        name = str(key.value)
        where = child_path(path, name)
        if key.tag != "str":
            sink.error(key, where, expected("a variable name", key))
            continue
        problem = env_name_problem(name, layer)
        if problem:
            sink.error(key, where, problem)
            continue
        if not isinstance(value, Scalar) or value.tag != "str":
            sink.error(value, where, expected("a string value (quote numbers and booleans)", value))
            continue
        env[name] = str(value.value)
    return env
