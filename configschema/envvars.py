"""``env:`` of an agent (SPEC §4.8): names, values, and the names a layer may not set."""

from __future__ import annotations

import re

from configschema.model import Layer
from configschema.nodes import Node, Scalar, child_path
from configschema.problems import ProblemSink
from configschema.readers import as_map, expected

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED_PREFIX = "MATE_"
# Names a .mate.yml may not set (SPEC §4.8). A .mate.yml is written by anyone who can push a
# branch; the tenant config is not restricted beyond MATE_.
# They steer where the LLM key, the job credential and the agent's traffic go. Compared in any
# case: curl and most HTTP clients honour http_proxy as well as HTTP_PROXY.
REPO_TRAFFIC_PREFIXES = ("ANTHROPIC_", "OPENROUTER_", "CLAUDE_", "GIT_", "SSH_")
REPO_TRAFFIC_NAMES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"})
# They make a program load other code next to the job credential (the dynamic loader, node,
# bash, sh, python, perl, ruby, the JVM) or decide which program runs. Compared exactly, as
# those programs read them: `env` or `path` in lower case is nobody's loader setting.
REPO_LOADER_PREFIXES = ("LD_", "PYTHON", "PERL5")
REPO_LOADER_NAMES = frozenset(
    {
        "NODE_OPTIONS",
        "NODE_PATH",
        "BASH_ENV",
        "ENV",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "PATH",
        "HOME",
        "SHELL",
    }
)


def _repo_problem(name: str) -> str | None:
    """Why a .mate.yml may not set ``name`` (SPEC §4.8), or None."""
    upper = name.upper()
    if upper.startswith(REPO_TRAFFIC_PREFIXES) or upper in REPO_TRAFFIC_NAMES:
        return (
            f"env name {name} is not allowed in .mate.yml: it steers credentials or traffic; "
            "only the tenant config may set it"
        )
    if name.startswith(REPO_LOADER_PREFIXES) or name in REPO_LOADER_NAMES:
        return (
            f"env name {name} is not allowed in .mate.yml: it makes programs load other code "
            "next to the job credential; only the tenant config may set it"
        )
    return None


def env_name_problem(name: str, layer: Layer) -> str | None:
    """Why ``name`` may not be set in this layer, or None when it may.

    ``MATE_`` is compared case-insensitively in every layer: refusing a lower-case twin of a
    reserved name costs nobody anything.
    """
    if not ENV_NAME.match(name):
        return f"env name {name!r} is not valid; names match [A-Za-z_][A-Za-z0-9_]*"
    if name.upper().startswith(RESERVED_PREFIX):
        return f"env name {name} is reserved: names starting with MATE_ belong to Mate"
    if layer == "repo":
        return _repo_problem(name)
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
