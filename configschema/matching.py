"""Walking the triggers for one event (SPEC §4.6) and the effective authority set (§4.7)."""

from __future__ import annotations

from collections.abc import Iterable

from configschema.conditions import conditions_hold
from configschema.events import EventFacts
from configschema.model import Match, MergedConfig, ResolvedAgent, Trigger


def effective_authorities(
    agent: ResolvedAgent, trigger: Trigger, tenant_deny: Iterable[str]
) -> frozenset[str]:
    """Resolved agent permissions − trigger ``deny`` − tenant ``deny``: a deny at any layer wins."""
    return frozenset(agent.permissions) - frozenset(trigger.deny) - frozenset(tenant_deny)


def event_fields_match(trigger: Trigger, facts: EventFacts) -> bool:
    """``on`` and the event-specific ``mention``/``label`` hold: what the event alone decides,
    without anything GitLab would have to tell (SPEC §5.2: routing asks GitLab nothing for an
    event no trigger could match by these)."""
    if trigger.on != facts.event:
        return False
    if trigger.mention is not None and facts.mentioned != trigger.mention:
        return False
    return trigger.label is None or facts.new_label in trigger.label


def trigger_matches(trigger: Trigger, facts: EventFacts) -> bool:
    """``on``, the event-specific ``mention``/``label``, and every ``if`` condition hold.

    ``when:`` is deliberately not looked at: SPEC says it is accepted but not enforced.
    """
    return event_fields_match(trigger, facts) and conditions_hold(trigger.conditions, facts)


def match(merged: MergedConfig, facts: EventFacts) -> Match | None:
    """The first trigger (repo triggers first, then tenant triggers) that matches, or None.

    The match carries the effective authorities, which may be empty: the caller refuses the
    job then (SPEC §5.3 step 4), and says so in the delivery log.
    """
    for trigger in merged.triggers:
        if not trigger_matches(trigger, facts):
            continue
        agent = merged.agents[trigger.agent]
        return Match(
            trigger=trigger,
            agent=agent,
            authorities=effective_authorities(agent, trigger, merged.deny),
            timeout=agent.timeout,
        )
    return None
