"""Routing believes GitLab, not the payload (SPEC §5.2 "Real payloads carry ids", §5.3 steps 3a
and 4a): the pipeline's acting bot from the MR's assignees, ``if: author``/``if: assignee`` on
GitLab's usernames, the confirmation of what a delivery claims, and the actor's role.

The simulator sends real-shaped webhooks (no usernames behind ``author_id`` or a Note Hook's
``assignee_ids``, no assignees in a Pipeline Hook) to a live Mate; forged deliveries are signed
with the tenant's secret, as an insider who set up a hook could.
"""

from __future__ import annotations

import pytest

from jobs.models import DeliveryEvent, Job
from jobs.runner.task import build_task
from tenants import services
from tests.gitlab_sim import DEVELOPER, REPORTER

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

AGENT = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help.
    permissions: [read, comment]
"""


def config(world, triggers: str, policies: str = "") -> None:
    world.config(AGENT + "triggers:\n" + triggers + policies)


def outcome() -> DeliveryEvent:
    return DeliveryEvent.objects.order_by("-pk").first()


def send(world, pending):
    (delivery,) = pending
    sent = world.sim.dispatcher.send(delivery)
    assert sent.status == 200, sent.response_body
    return outcome()


# -- item 2: pipeline_failed's acting bot ---------------------------------------------------
def test_a_failed_pipeline_of_an_mr_assigned_to_a_second_bot_is_that_bots(world):
    sim, project = world.sim, world.project
    second = sim.add_user("mate-review")
    sim.add_member(project, second, 40)
    services.register_bot(tenant=world.tenant, token=sim.add_pat(second, scopes=["api"]))
    config(world, "  - on: pipeline_failed\n    agent: helper\n")
    mr = sim.add_merge_request(project, "fix/ci", author=world.human, assignees=[second])

    delivery = sim.fail_pipeline(project, "fix/ci", merge_request=mr, by=world.human)
    assert "assignees" not in delivery[0].payload["merge_request"]  # GitLab sends none
    job = Job.objects.get(event="pipeline_failed")
    assert (job.bot_username, job.snapshot["bot"]) == ("mate-review", "mate-review")
    assert outcome().bot == "mate-review"
    # Read with the default bot's token (it may see the MR), then acted on by the assigned one.
    mr_reads = sim.requests_to("GET", f"/projects/{project.id}/merge_requests/{mr.iid}")
    assert {r.username for r in mr_reads} <= {"mate-bot", "mate-review"}


def test_a_failed_pipeline_of_an_mr_no_bot_is_assigned_to_is_the_default_bots(world):
    sim, project = world.sim, world.project
    config(world, "  - on: pipeline_failed\n    agent: helper\n")
    mr = sim.add_merge_request(project, "fix/lint", author=world.human)
    sim.fail_pipeline(project, "fix/lint", merge_request=mr, by=world.human)
    assert Job.objects.get(event="pipeline_failed").bot_username == "mate-bot"


# -- item 3: if: author / if: assignee on GitLab's answer ----------------------------------
def test_if_assignee_holds_for_a_mention_when_gitlab_shows_that_person_assigned(world):
    sim, project = world.sim, world.project
    carol = sim.add_user("carol")
    sim.add_member(project, carol, DEVELOPER)
    config(world, "  - on: comment_mention\n    agent: helper\n    if: {assignee: carol}\n")
    mine = sim.add_issue(project, "Carol's", author=world.human, assignees=[carol])
    other = sim.add_issue(project, "Nobody's", author=world.human)

    sent = sim.post_note(project, "issue", mine.iid, "@mate-bot look", world.human)
    issue = sent[0].payload["issue"]
    assert issue["assignee_ids"] == [carol.id] and "assignees" not in issue  # ids only
    assert outcome().resolution == "dispatched"
    sim.post_note(project, "issue", other.iid, "@mate-bot look", world.human)
    assert outcome().resolution == "no_trigger"


def test_if_author_holds_exactly_when_gitlab_says_so(world):
    sim, project = world.sim, world.project
    carol = sim.add_user("carol")
    sim.add_member(project, carol, DEVELOPER)
    config(world, "  - on: issue_assigned\n    agent: helper\n    if: {author: carol}\n")
    by_carol = sim.add_issue(project, "Hers", author=carol)
    by_alice = sim.add_issue(project, "Alice's", author=world.human)

    sent = sim.assign_issue(project, by_carol.iid, ["mate-bot"], by=world.human)
    attrs = sent[0].payload["object_attributes"]
    assert attrs["author_id"] == carol.id and "author" not in sent[0].payload
    assert outcome().resolution == "dispatched"
    assert Job.objects.get().snapshot["event"]["author"] == "carol"
    # The assigner is alice: a trigger on her as author does not hold for carol's issue.
    sim.assign_issue(project, by_alice.iid, ["mate-bot"], by=carol)
    assert outcome().resolution == "no_trigger"


# -- item 9: confirm with GitLab (T43 has the forged deliveries) ----------------------------
def test_a_label_removed_before_routing_means_the_trigger_no_longer_matches(world):
    sim, project = world.sim, world.project
    config(world, "  - on: issue_assigned\n    agent: helper\n    if: {labels: [urgent]}\n")
    issue = sim.add_issue(project, "Fire", author=world.human, labels=["urgent"])
    pending = _assignment(sim, project, issue, world)
    assert [label["title"] for label in pending[0].payload["labels"]] == ["urgent"]
    issue.labels.remove("urgent")  # GitLab's state moves on before Mate routes the delivery
    row = send(world, pending)
    assert (row.resolution, row.reason) == (
        "refused",
        "the delivery does not match GitLab (no trigger matches what GitLab shows)",
    )
    assert not Job.objects.exists()


def _assignment(sim, project, issue, world):
    """The Issue Hook of assigning the bot, built as GitLab builds it, not yet sent."""
    from tests.gitlab_sim.operations import update_issuable

    with sim.state.lock:
        before, action = update_issuable(
            sim, project, issue, world.human, assignee_ids=[world.bot.id]
        )
        return sim.issuable_event(project, issue, world.human, action, before)


def test_a_failed_pipeline_gitlab_shows_as_passed_is_refused(world):
    sim, project = world.sim, world.project
    config(world, "  - on: pipeline_failed\n    agent: helper\n")
    pipeline = sim.add_pipeline(project, "main", "success", user=world.human)
    with sim.state.lock:
        pending = sim.pipeline_event(project, pipeline, world.human)
    payload = dict(pending[0].payload)
    payload["object_attributes"] = {**payload["object_attributes"], "status": "failed"}
    (hook,) = project.hooks
    forged = sim.dispatcher.build(hook, "Pipeline Hook", payload, "forged-pipeline")
    row = send(world, [forged])
    assert (row.resolution, row.reason) == (
        "refused",
        f"the delivery does not match GitLab (pipeline {pipeline.id} did not fail; "
        "GitLab shows it success)",
    )


# -- item 8: actor trust -------------------------------------------------------------------
@pytest.fixture
def public(world):
    """A public project any GitLab user may comment on, with Mate's hook."""
    sim = world.sim
    project = sim.add_project("oss/lib", visibility="public", members={world.bot: 40})
    sim.add_hook(project, world.project.hooks[0].url, token=world.project.hooks[0].token)
    config(world, "  - on: comment_mention\n    agent: helper\n")
    issue = sim.add_issue(project, "Feature request", author=world.human)
    return project, issue


def test_a_reporters_mention_on_a_public_project_is_refused_a_developers_dispatches(world, public):
    sim = world.sim
    project, issue = public
    rita, dave = sim.add_user("rita"), sim.add_user("dave")
    sim.add_member(project, rita, REPORTER)
    sim.add_member(project, dave, DEVELOPER)

    sim.post_note(project, "issue", issue.iid, "@mate-bot spend money", rita)
    row = outcome()
    assert (row.resolution, row.reason) == (
        "refused",
        "actor @rita has Reporter access; this tenant needs Developer (policies.min_actor_role)",
    )
    sim.post_note(project, "issue", issue.iid, "@mate-bot please fix", dave)
    assert outcome().resolution == "dispatched"
    assert Job.objects.get().snapshot["event"]["actor"] == "dave"


def test_a_stranger_on_a_public_project_is_refused_an_inherited_developer_is_not(world, public):
    sim = world.sim
    project, issue = public
    stranger, grace = sim.add_user("stranger"), sim.add_user("grace")
    sim.post_note(project, "issue", issue.iid, "@mate-bot hi", stranger)
    row = outcome()
    assert row.resolution == "refused"
    assert row.reason == (
        "actor @stranger is not a member of the project (GitLab's members API, inherited "
        "membership included); this tenant needs Developer (policies.min_actor_role)"
    )
    sim.add_group_member("oss", grace, DEVELOPER)  # a member through the group only
    sim.post_note(project, "issue", issue.iid, "@mate-bot hi", grace)
    assert outcome().resolution == "dispatched"
    assert sim.requests_to("GET", f"/projects/{project.id}/members/all/{grace.id}")


def test_min_actor_role_lets_a_tenant_accept_reporters(world, public):
    sim = world.sim
    project, issue = public
    rita = sim.add_user("rita")
    sim.add_member(project, rita, REPORTER)
    config(
        world,
        "  - on: comment_mention\n    agent: helper\n",
        "policies:\n  min_actor_role: reporter\n",
    )
    sim.post_note(project, "issue", issue.iid, "@mate-bot hi", rita)
    assert outcome().resolution == "dispatched"


def test_a_membership_gitlab_cannot_read_is_refused_naming_it(world, public):
    sim = world.sim
    project, issue = public
    dave = sim.add_user("dave")
    sim.add_member(project, dave, DEVELOPER)
    sim.fail_next(5, 500, method="GET", path=f"/projects/{project.id}/members/all/{dave.id}")
    sim.post_note(project, "issue", issue.iid, "@mate-bot hi", dave)
    row = outcome()
    assert row.resolution == "refused"
    assert row.reason.startswith("could not read the actor's access on GitLab: GitLab answered 500")
    assert not Job.objects.exists()


def test_the_task_names_gitlabs_comment(world):
    sim, project = world.sim, world.project
    config(world, "  - on: comment_mention\n    agent: helper\n")
    issue = sim.add_issue(project, "Bug", author=world.human)
    sim.post_note(project, "issue", issue.iid, "@mate-bot fix the bug", world.human)
    job = Job.objects.get()
    assert "> @mate-bot fix the bug" in build_task(job.snapshot)
