"""Saving the tenant configuration: validated by configschema, versioned, never invalid."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

import configschema
from tenants.models import ConfigVersion, Tenant

STARTER_TEMPLATE = """\
# Mate tenant configuration. Reference: the Config tab's help, SPEC §4.
version: 1

# Authorities removed for every agent and trigger.
deny: [merge]

agents:
  triager:
    description: Reads new issues and answers with a plan
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: |
      You are a careful engineer. Read the issue and its discussion, then reply with a short,
      concrete plan. Do not change code.
    permissions: [read, comment]

  coder:
    extends: triager
    description: Implements issues on a new branch and opens a draft MR
    system_prompt: |
      Implement the issue on a new branch, commit, and open a draft merge request.
    permissions: [read, comment, push_branch, open_mr]
    timeout: 45m

triggers:
  - on: comment_mention
    agent: triager
  - on: issue_assigned
    agent: coder
    if:
      labels: [ready]
  - on: issue_assigned
    agent: triager

policies:
  cooldown: 1m
  concurrency: 2
  default_timeout: 30m
  # The least GitLab role of the person whose action starts a job, on the project:
  # guest | reporter | developer | maintainer | owner
  min_actor_role: developer
  # Accepted but not enforced yet (the editor warns about each one written):
  # max_cost_per_job: 5        # USD per job (default 5)
  # daily_budget: 50           # USD per UTC day (default: no cap)
  # egress: [pypi.org, "*.npmjs.org"]   # hosts jobs may reach; quote a leading *
  # announce: summary          # none | reaction | summary
"""


class ConfigInvalid(ValueError):
    """The text has errors; ``problems`` lists them all (configschema.Problem)."""

    def __init__(self, problems: list) -> None:
        super().__init__(f"configuration has {len(problems)} problem(s)")
        self.problems = problems


def validate(text: str):
    """Run the configuration language on tenant config text (used by the live editor too)."""
    return configschema.validate_tenant(text, onprem=settings.MATE_DEPLOYMENT == "onprem")


_VALIDATED: OrderedDict[tuple[int, str, bool], configschema.Result] = OrderedDict()
_VALIDATED_MAX = 256


def validated(config: ConfigVersion) -> configschema.Result:
    """The validation result of a saved version, cached per process.

    Versions are immutable rows; the key also holds a digest of the text, so a reused row id
    (a rolled-back test, a restored database) can never return another text's result. Parsing
    a realistic config costs tens of milliseconds, which routing would otherwise pay per event.
    """
    digest = hashlib.sha256(config.text.encode()).hexdigest()
    key = (config.pk, digest, settings.MATE_DEPLOYMENT == "onprem")
    if key in _VALIDATED:
        _VALIDATED.move_to_end(key)
        return _VALIDATED[key]
    result = validate(config.text)
    _VALIDATED[key] = result
    if len(_VALIDATED) > _VALIDATED_MAX:
        _VALIDATED.popitem(last=False)
    return result


def save_config(*, tenant: Tenant, text: str, author) -> ConfigVersion:
    """Store ``text`` as the tenant's next config version; refuse it if it has any error."""
    result = validate(text)
    if not result.ok:
        raise ConfigInvalid([p for p in result.problems if p.severity == "error"])
    for _attempt in range(3):
        try:
            with transaction.atomic():
                latest = ConfigVersion.objects.for_tenant(tenant).aggregate(v=Max("version"))["v"]
                return ConfigVersion.objects.create(
                    tenant=tenant, version=(latest or 0) + 1, text=text, author=author
                )
        except IntegrityError:
            continue  # two saves raced for the same version number; take the next one
    raise RuntimeError("could not allocate a config version after 3 attempts")
