"""The configuration language (SPEC §4): pure Python, no database, no Django models.

Typical use::

    tenant = validate_tenant(tenant_yaml)            # Result: .ok, .problems, .config
    repo = validate_repo(mate_yml, tenant.config)    # only when tenant.ok
    merged = resolve(tenant.config, repo.config)     # repo None: tenant config alone
    found = match(merged, EventFacts(event="mr_opened", ...))
    # found is None (no trigger) or a Match with .trigger, .agent, .authorities, .timeout
"""

from configschema.authorities import APPROVE_MR_MESSAGE, AUTHORITIES
from configschema.document import validate_repo, validate_tenant
from configschema.durations import format_duration, parse_duration
from configschema.events import EVENTS, EventFacts
from configschema.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES
from configschema.matching import (
    effective_authorities,
    event_fields_match,
    match,
    trigger_matches,
)
from configschema.merge import resolve
from configschema.model import (
    AgentSpec,
    Conditions,
    Match,
    MergedConfig,
    Policies,
    RepoConfig,
    ResolvedAgent,
    TenantConfig,
    Trigger,
)
from configschema.problems import ConfigError, Problem, Result

__all__ = [
    "APPROVE_MR_MESSAGE",
    "AUTHORITIES",
    "EVENTS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "AgentSpec",
    "Conditions",
    "ConfigError",
    "EventFacts",
    "Match",
    "MergedConfig",
    "Policies",
    "Problem",
    "RepoConfig",
    "ResolvedAgent",
    "Result",
    "TenantConfig",
    "Trigger",
    "effective_authorities",
    "event_fields_match",
    "format_duration",
    "match",
    "parse_duration",
    "resolve",
    "trigger_matches",
    "validate_repo",
    "validate_tenant",
]
