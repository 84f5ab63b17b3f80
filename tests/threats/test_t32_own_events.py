"""T32: what a job's agent writes through the tools never starts another job.

A live Mate and the GitLab simulator, with the simulator's webhook pointed at
``POST /hook/<tenant>`` (the deliveries are routed as they arrive, Celery eager). A person
assigns the bot to an issue, which starts a job; the job gets its job credential and its
per-job key minted at the simulator, as the runner does. Its agent then, through the live tool
endpoints and with that credential only, comments on the issue mentioning the bot, pushes a
branch and opens an MR; with the job's key the bot is assigned to that MR. GitLab authors all of
it as the key's project-bot user, and the deliveries it sends for it start no job: each is
``ignored`` with "caused by Mate's own job" in the delivery log. After the key is revoked, its
user still counts. The delivery log and Explain show the reason. Controls: a person's mention
on the issue, and on the agent's MR, does start a job (the latter reads ``.mate.yml`` at the
default branch, not the agent's branch); a person's note whose only mentions stand where GitLab
sees none (quotes, code, an HTML comment, escaped) does not.
"""

from __future__ import annotations

import html

import gitlab
import pytest
import requests
from django.test import Client
from django.urls import reverse

from jobs import credentials
from jobs.events import MATE_CAUSED, MATE_MR_REASON, NO_BOT
from jobs.models import Delivery, DeliveryEvent, Job, JobStatus, JobToken, Resolution
from tests.gitlab_sim.operations import add_note
from tests.jobs.conftest import eager_celery, world

__all__ = ["eager_celery", "world"]  # the live Mate of tests/jobs, reused here

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def tool(live_server, token: str, name: str, **arguments) -> dict:
    response = requests.post(
        f"{live_server.url}/tools/{name}",
        json=arguments,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, (name, response.status_code, response.text)
    return response.json()["result"]


def outcomes_since(mark: int) -> list[DeliveryEvent]:
    return list(DeliveryEvent.objects.filter(delivery_id__gt=mark).order_by("delivery_id", "id"))


def last_delivery_id() -> int:
    latest = Delivery.objects.order_by("-id").first()
    return latest.id if latest else 0


def console_pages(world, delivery: Delivery) -> tuple[str, str]:
    """The delivery's page in the delivery log and its Explain page, as the owner sees them."""
    client = Client()
    client.force_login(world.owner)
    args = {"tenant": world.tenant.uid, "delivery": delivery.uid}
    page = client.get(reverse("console:delivery", kwargs=args))
    explain_url = reverse("console:delivery_explain", kwargs=args)
    explained = client.get(explain_url)
    if explained.status_code == 405:  # Explain may be a POST (it asks GitLab)
        explained = client.post(explain_url)
    assert (page.status_code, explained.status_code) == (200, 200)
    return html.unescape(page.content.decode()), html.unescape(explained.content.decode())


@pytest.fixture
def agent_job(world):
    """The job a person's assignment starts, with its credential and per-job key (as run_job)."""
    issue = world.sim.add_issue(world.project, "Crash on save", "", world.human)
    world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    (job,) = Job.objects.filter(tenant=world.tenant)
    assert job.event == "issue_assigned"
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    token = credentials.issue_job_credential(job)
    key = credentials.mint_gitlab_key(job)
    assert key is not None and not job.uses_bot_pat
    return job, token, key, issue


def test_the_agents_note_and_mr_start_no_job(world, live_server, agent_job):
    job, token, key, issue = agent_job
    sim = world.sim
    key_user = sim.user(sim.token_record(key.reveal_secret("value")).user_id)
    assert key_user.username.startswith(f"project_{world.project.id}_bot_")
    assert key.gitlab_user_id == key_user.id  # recorded from the create response
    mark = last_delivery_id()

    tool(live_server, token, "create_issue_note", body="@mate-bot I need a second pair of eyes")
    tool(live_server, token, "create_branch", branch="mate/fix-save")
    mr = tool(
        live_server, token, "create_merge_request", source_branch="mate/fix-save", title="Fix"
    )
    sim.wait_for_deliveries()
    keyed = gitlab.Gitlab(sim.url, private_token=key.reveal_secret("value"))
    opened = keyed.projects.get(world.project.id, lazy=True).mergerequests.get(mr["iid"])
    opened.assignee_ids = [world.bot.id]
    opened.save()
    sim.wait_for_deliveries()

    rows = outcomes_since(mark)
    hooks = [r.delivery.hook for r in rows]
    assert hooks == ["Note Hook", "Merge Request Hook", "Merge Request Hook"], hooks
    for row in rows:
        assert (row.resolution, row.reason, row.job) == (Resolution.IGNORED, MATE_CAUSED, None)
        assert row.delivery.body["user"]["id"] == key_user.id
    assert list(Job.objects.filter(tenant=world.tenant)) == [job]
    log_page, explain_page = console_pages(world, rows[0].delivery)
    assert MATE_CAUSED in log_page and MATE_CAUSED in explain_page

    # The agent's last note; GitLab's webhook for it arrives (a retry, a slow queue) only after
    # the job ended and its key was revoked. Its user still counts.
    with sim.state.lock:
        project, obj = sim._issuable(world.project, "issue", issue.iid)
        note = add_note(sim, project, obj, key_user, "@mate-bot one more thing", False, False)
        late_hooks = sim.note_event(project, obj, note)
    credentials.revoke_job_tokens(job)
    key.refresh_from_db()
    assert key.revoked_at is not None and key.gitlab_user_id == key_user.id
    assert not key.has_secret("value")
    mark = last_delivery_id()
    assert [sim.dispatcher.send(d).status for d in late_hooks] == [200]
    (late,) = outcomes_since(mark)
    assert (late.resolution, late.reason) == (Resolution.IGNORED, MATE_CAUSED)
    assert list(Job.objects.filter(tenant=world.tenant)) == [job]
    assert MATE_CAUSED in console_pages(world, late.delivery)[1]  # Explain agrees, later too


def test_a_persons_mentions_still_start_jobs(world, live_server, agent_job):
    job, token, key, issue = agent_job
    sim = world.sim
    tool(live_server, token, "create_branch", branch="mate/fix-save")
    mr = tool(
        live_server, token, "create_merge_request", source_branch="mate/fix-save", title="Fix"
    )
    sim.wait_for_deliveries()
    credentials.revoke_job_tokens(job)
    mark = last_delivery_id()

    # Mentions where GitLab sees none: quoted, in code, in an HTML comment, escaped.
    hidden = (
        "> @mate-bot wrote this\n\n>>>\n@mate-bot\n>>>\n\n    @mate-bot in code\n\n"
        "`@mate-bot` <code>@mate-bot</code> <!-- @mate-bot --> \\@mate-bot"
    )
    sim.post_note(world.project, "issue", issue.iid, hidden, world.human)
    (quiet,) = outcomes_since(mark)
    assert (quiet.resolution, quiet.reason) == (Resolution.IGNORED, NO_BOT)
    mark = last_delivery_id()

    sim.post_note(world.project, "issue", issue.iid, "@mate-bot please look", world.human)
    sim.post_note(world.project, "merge_request", mr["iid"], "@mate-bot review", world.human)
    rows = outcomes_since(mark)
    assert [r.resolution for r in rows] == [Resolution.DISPATCHED] * 2, [r.reason for r in rows]
    on_issue, on_mr = (r.job for r in rows)
    assert on_issue.event == on_mr.event == "comment_mention"
    # The agent's MR: its source branch was written by an agent, so .mate.yml comes from main.
    assert on_mr.object_kind == "merge_request"
    assert (rows[1].detail["config_ref"], rows[1].detail["config_ref_reason"]) == (
        "main",
        MATE_MR_REASON,
    )
    assert JobToken.objects.filter(job=job, gitlab_user_id__isnull=False).exists()
