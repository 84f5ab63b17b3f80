"""jobs.routing.trust: the actor's role against policies.min_actor_role (SPEC §5.3 step 4a)."""

from __future__ import annotations

import pytest

from jobs.routing.trust import level_name, refusal

POLICY = "(policies.min_actor_role)"


@pytest.mark.parametrize(
    ("level", "role", "allowed"),
    [
        (30, "developer", True),
        (50, "developer", True),
        (20, "developer", False),
        (15, "reporter", False),  # Planner is below Reporter
        (10, "guest", True),
        (40, "owner", False),
    ],
)
def test_the_level_must_reach_the_role(level, role, allowed):
    found = refusal("dana", 5, {"access_level": level}, role)
    assert (found is None) == allowed


def test_the_refusals_name_the_role_and_the_policy():
    assert refusal("rita", 3, {"access_level": 20}, "developer") == (
        f"actor @rita has Reporter access; this tenant needs Developer {POLICY}"
    )
    assert refusal("olga", 4, None, "maintainer") == (
        "actor @olga is not a member of the project (GitLab's members API, inherited "
        f"membership included); this tenant needs Maintainer {POLICY}"
    )
    assert refusal(None, None, None, "developer") == (
        f"the event names no actor GitLab can resolve; this tenant needs Developer {POLICY}"
    )
    assert "gave no access level" in refusal("x", 1, {"access_level": "30"}, "guest")


def test_level_names_are_gitlabs():
    assert [level_name(n) for n in (0, 5, 10, 15, 20, 30, 40, 50, 60, 35)] == [
        "no", "Minimal", "Guest", "Planner", "Reporter", "Developer", "Maintainer", "Owner",
        "Admin", "Developer",
    ]  # fmt: skip


def test_an_invitation_not_yet_accepted_is_no_membership():
    member = {"access_level": 40, "membership_state": "awaiting"}
    assert refusal("ivan", 9, member, "developer") == (
        "actor @ivan has not accepted their membership of the project (GitLab shows it "
        f"awaiting); this tenant needs Developer {POLICY}"
    )
    assert refusal("ivan", 9, {**member, "membership_state": "active"}, "developer") is None
