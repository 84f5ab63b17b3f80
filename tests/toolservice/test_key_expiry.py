"""A per-job key outlives midnight UTC (SPEC §6.2; issue 17 item 1).

GitLab's ``expires_at`` is a date and a token dies at 00:00 UTC of it, so a key minted at
23:55 "until tomorrow" would die five minutes later. The whole process (Mate and the
simulator, which runs in a thread of it) is moved through midnight with ``time_machine``; the
calls go through the tool service's REST endpoint with the job credential, and GitLab sees the
job's own key.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db


def call(world, token, name, **arguments):
    response = world.client(token).post(f"/tools/{name}", arguments, format="json")
    return response.status_code, response.json()


def _utc(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def test_a_job_dispatched_at_23_55_utc_still_calls_tools_at_00_05(world):
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    with time_machine.travel(_utc(day, 23, 55), tick=True) as traveller:
        job, token = world.job(("read", "comment"))
        # one instant for both: the simulator's clock is the process clock
        assert abs(world.sim.state.now() - _utc(day, 23, 55)) < dt.timedelta(minutes=1)
        assert call(world, token, "get_issue")[0] == 200

        traveller.move_to(_utc(day + dt.timedelta(days=1), 0, 5))
        assert world.sim.state.today() == day + dt.timedelta(days=1)
        status, body = call(world, token, "get_issue")
        gitlab_saw = [r.status for r in world.sim.requests_to("GET", f"/issues/{world.issue.iid}")]
        assert status == 200, (body, gitlab_saw)
        status, body = call(world, token, "create_issue_note", body="still here after midnight")
        assert status == 200, body

    keys = job.tokens.filter(kind="gitlab_key")
    assert keys.count() == 1  # the key of 23:55 did it, no re-mint at midnight
    used = world.sim.requests_to("POST", f"/issues/{world.issue.iid}/notes")
    assert [r.username for r in used] == [world.key_user(job).username]


def test_a_key_gitlab_refuses_is_reported_as_mates_not_the_agents(world):
    """The job credential was checked before GitLab was called: GitLab's 401 is about the key
    Mate holds (here revoked at GitLab), so the agent is not told its credential is dead."""
    job, token = world.job(("read",))
    assert call(world, token, "get_issue")[0] == 200
    key = job.tokens.filter(kind="gitlab_key").latest("minted_at")
    world.sim.revoke_token(key.reveal_secret("value"))
    status, body = call(world, token, "get_issue")
    assert (status, body["error"]["category"]) == (502, "upstream"), body
    assert "key Mate holds for this job" in body["error"]["message"]
    assert call(world, token, "get_job_context")[0] == 200  # the agent's credential still works
