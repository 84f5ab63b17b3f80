"""The two documents (SPEC §4.2): the tenant config and a repository's ``.mate.yml``.

:func:`validate_tenant` and :func:`validate_repo` are the entry points: they load, check every
rule, and return all problems at once with the validated configuration when there is no error.
"""

from __future__ import annotations

from configschema.agents import read_agents
from configschema.authorities import read_authorities
from configschema.inheritance import resolve_tenant_agents
from configschema.loader import load
from configschema.merge import overlay_agents
from configschema.model import Layer, Policies, RepoConfig, TenantConfig
from configschema.nodes import Map, Node, Scalar, describe
from configschema.policies import read_policies
from configschema.problems import DOCUMENT_START, ProblemSink, Result
from configschema.readers import Entries, entries
from configschema.triggers import read_triggers

TENANT_KEYS = ("version", "deny", "agents", "triggers", "policies")
REPO_KEYS = ("version", "agents", "triggers", "policies")
BOTS_IN_TENANT = "bots: is not allowed in the tenant config; register bots in the Bots tab"
BOTS_IN_REPO = "bots: is not allowed in .mate.yml; only the tenant YAML may declare bots."
DENY_IN_REPO = (
    "unknown key deny; expected one of: version, agents, triggers, policies "
    "(deny: belongs in the tenant config)"
)
POLICIES_IGNORED = "policies in .mate.yml are accepted but ignored; the tenant policies apply"


def validate_tenant(text: str | bytes, *, onprem: bool = False) -> Result[TenantConfig]:
    """Validate a tenant config. ``onprem``: the installation runs with MATE_DEPLOYMENT=onprem
    (only then is ``keep_container`` honoured, so only then does it go without a warning)."""
    loaded = load(text)
    sink = ProblemSink(loaded.problems)
    found = _top_level(loaded.root, sink, "tenant") if not loaded.refused else None
    if found is None:
        return Result.from_sink(sink, None)
    deny: tuple[str, ...] = ()
    if "deny" in found:
        deny = read_authorities(found["deny"][1], "deny", sink, required=False) or ()
    policies = read_policies(found["policies"][1], sink) if "policies" in found else Policies()
    specs, names = ({}, set())
    if "agents" in found:
        specs, names = read_agents(found["agents"][1], sink, "tenant", onprem=onprem)
    agents = resolve_tenant_agents(specs, policies.default_timeout, sink)
    triggers = ()
    if "triggers" in found:
        triggers = read_triggers(found["triggers"][1], sink, names, "tenant")
    config = TenantConfig(
        agents=agents, agent_specs=specs, triggers=triggers, policies=policies, deny=deny
    )
    return Result.from_sink(sink, config)


def validate_repo(
    text: str | bytes, tenant: TenantConfig, *, onprem: bool = False
) -> Result[RepoConfig]:
    """Validate a ``.mate.yml`` against a valid tenant config (the ceiling it must stay under).

    ``onprem`` is accepted for symmetry with :func:`validate_tenant`; a ``.mate.yml`` may not
    set ``keep_container`` in either mode.
    """
    del onprem
    loaded = load(text)
    sink = ProblemSink(loaded.problems)
    found = _top_level(loaded.root, sink, "repo") if not loaded.refused else None
    if found is None:
        return Result.from_sink(sink, None)
    policies = None
    if "policies" in found:
        key, node = found["policies"]
        sink.warning(key, "policies", POLICIES_IGNORED)
        policies = read_policies(node, sink, "repo")
    specs, names = ({}, set())
    if "agents" in found:
        specs, names = read_agents(found["agents"][1], sink, "repo", onprem=False)
    overlay_agents(tenant, specs, sink)
    triggers = ()
    if "triggers" in found:
        triggers = read_triggers(found["triggers"][1], sink, names | set(tenant.agents), "repo")
    return Result.from_sink(
        sink, RepoConfig(agent_specs=specs, triggers=triggers, policies=policies)
    )


def _top_level(root: Node | None, sink: ProblemSink, layer: Layer) -> Entries | None:
    """The top-level entries (null values dropped: ``agents:`` alone means no agents)."""
    if root is None:
        sink.error(DOCUMENT_START, "", "the document is empty; it needs at least version: 1")
        return None
    if not isinstance(root, Map):
        sink.error(root, "", f"expected a mapping with version: 1 at the top, got {describe(root)}")
        return None
    if layer == "tenant":
        found = entries(root, "", sink, TENANT_KEYS, {"bots": BOTS_IN_TENANT})
    else:
        found = entries(root, "", sink, REPO_KEYS, {"bots": BOTS_IN_REPO, "deny": DENY_IN_REPO})
    _version(root, found, sink)
    return {k: v for k, v in found.items() if not (isinstance(v[1], Scalar) and v[1].tag == "null")}


def _version(root: Map, found: Entries, sink: ProblemSink) -> None:
    if "version" not in found:
        sink.error(root, "version", "version: is required; write version: 1")
        return
    node = found["version"][1]
    if not (isinstance(node, Scalar) and node.tag == "int" and node.value == 1):
        shown = repr(node.value) if isinstance(node, Scalar) else describe(node)
        sink.error(node, "version", f"version must be the integer 1, got {shown}")
