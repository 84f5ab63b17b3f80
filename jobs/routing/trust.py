"""Actor trust (SPEC §5.3 step 4a): pure, no I/O.

The actor's access level on the project, as GitLab's members API tells it (inherited
membership included: ``GET /projects/:id/members/all/:user_id``), must be at least the tenant's
``policies.min_actor_role``. On a public project any GitLab user can comment, assign in their own
issues or push a pipeline to a fork; without this check a stranger could spend the tenant's LLM
budget or steer an agent that can push. Every peer (GitHub's Copilot agent, claude-code-action,
GitLab's own agents) requires write access by default; so does Mate (Developer).
"""

from __future__ import annotations

from configschema.policies import ACTOR_ROLE_LEVELS as LEVELS

POLICY = "policies.min_actor_role"
# Gitlab::Access levels and their names (doc/api/members.md, "Roles").
_NAMES = {
    0: "no",
    5: "Minimal",
    10: "Guest",
    15: "Planner",
    20: "Reporter",
    30: "Developer",
    40: "Maintainer",
    50: "Owner",
    60: "Admin",
}


def level_name(level: int) -> str:
    """GitLab's name of an access level; an unknown one by the nearest lower known level."""
    known = max((n for n in _NAMES if n <= level), default=0)
    return _NAMES[known]


def who(actor: str | None, actor_id: int | None) -> str:
    if actor:
        return f"@{actor}"
    return f"user {actor_id}" if actor_id is not None else "the actor"


def refusal(
    actor: str | None, actor_id: int | None, member: dict | None, min_role: str
) -> str | None:
    """Why the actor may not start a job, or None when their access is enough.

    ``member`` is GitLab's membership answer (None: GitLab has no membership of that user on
    the project, directly or inherited).
    """
    needed = level_name(LEVELS[min_role])
    if actor_id is None:
        return f"the event names no actor GitLab can resolve; this tenant needs {needed} ({POLICY})"
    if member is None:
        return (
            f"actor {who(actor, actor_id)} is not a member of the project (GitLab's members API, "
            f"inherited membership included); this tenant needs {needed} ({POLICY})"
        )
    if member.get("membership_state", "active") != "active":  # an invitation not yet taken
        return (
            f"actor {who(actor, actor_id)} has not accepted their membership of the project "
            f"(GitLab shows it {member.get('membership_state')}); this tenant needs {needed} "
            f"({POLICY})"
        )
    level = member.get("access_level")
    if not isinstance(level, int) or isinstance(level, bool):
        return f"GitLab gave no access level for actor {who(actor, actor_id)} ({POLICY})"
    if level < LEVELS[min_role]:
        return (
            f"actor {who(actor, actor_id)} has {level_name(level)} access; "
            f"this tenant needs {needed} ({POLICY})"
        )
    return None
