"""SPEC §5 end to end: the simulator emits real-shaped webhooks to the live endpoint; routing
fetches .mate.yml through python-gitlab with the bot's token and creates (or refuses) jobs."""

from __future__ import annotations

import pytest

from jobs.models import Delivery, DeliveryEvent, Job, JobStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def outcomes():
    return list(DeliveryEvent.objects.order_by("id").values_list("event", "resolution"))


def test_issue_assigned_creates_a_job_with_a_frozen_snapshot(world):
    issue = world.sim.add_issue(world.project, "Crash on login", "It crashes", world.human)
    sent = world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert [d.status for d in sent] == [200]
    job = Job.objects.get()
    assert (job.event, job.agent, job.bot_username, job.trigger) == (
        "issue_assigned",
        "helper",
        "mate-bot",
        "tenant[0]",
    )
    assert job.status == JobStatus.STARTING
    assert job.snapshot["authorities"] == ["read", "comment", "push_branch", "open_mr"]
    assert job.snapshot["config"]["ref"] == "main"
    assert job.snapshot["config"]["commit"] == world.sim.branch_sha(world.project, "main")
    assert job.snapshot["object"] == {"kind": "issue", "iid": issue.iid, "pipeline_id": None}
    assert outcomes() == [("issue_assigned", "dispatched")]
    assert Delivery.objects.get().state == Delivery.State.PROCESSED
    # The .mate.yml was read fresh, with the bot's token, at the default branch.
    reads = world.sim.requests_to("GET", "/repository/files/.mate.yml")
    assert reads and all(r.status == 404 for r in reads)


def test_mention_label_mr_and_pipeline_events_each_fire(world):
    sim, project, human = world.sim, world.project, world.human
    issue = sim.add_issue(project, "Question", "", human, assignees=["mate-bot"])
    sim.post_note(project, "issue", issue.iid, "@mate-bot please look", human)
    sim.add_labels(project, "issue", issue.iid, ["mate"], by=human)
    sim.create_branch(project, "feature/x")
    sim.open_merge_request(project, "feature/x", "main", author=human, title="X")
    assert [e for e, _ in outcomes()] == ["comment_mention", "label_applied", "mr_opened"]
    assert {r for _, r in outcomes()} == {"dispatched"}
    assert Job.objects.count() == 3


def test_no_trigger_is_logged(world):
    world.config("version: 1\nagents: {}\ntriggers: []\n")
    issue = world.sim.add_issue(world.project, "Nothing", "", world.human)
    world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert outcomes() == [("issue_assigned", "no_trigger")]
    assert not Job.objects.exists()


def test_escalating_branch_mate_yml_is_refused_and_cannot_widen(world):
    sim, project = world.sim, world.project
    sim.commit_files(
        project,
        "feature/evil",
        {".mate.yml": "version: 1\nagents:\n  helper:\n    permissions: [read, merge]\n"},
        start_branch="main",
    )
    sim.open_merge_request(project, "feature/evil", "main", author=world.human, title="Evil")
    (row,) = DeliveryEvent.objects.all()
    assert row.resolution == "config_invalid"
    assert any("not a subset of base agent helper" in p["message"] for p in row.detail["problems"])
    assert not Job.objects.exists()


def test_narrowing_branch_mate_yml_applies(world):
    sim, project = world.sim, world.project
    sim.commit_files(
        project,
        "feature/narrow",
        {".mate.yml": "version: 1\nagents:\n  helper:\n    permissions: [read]\n"},
        start_branch="main",
    )
    sim.open_merge_request(project, "feature/narrow", "main", author=world.human, title="N")
    job = Job.objects.get()
    assert job.snapshot["authorities"] == ["read"]
    assert job.snapshot["config"]["ref"] == "feature/narrow"


def test_replayed_delivery_produces_one_job(world):
    issue = world.sim.add_issue(world.project, "Once", "", world.human)
    (delivery,) = world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    again = world.sim.redeliver(delivery)
    assert again.status == 200
    assert Delivery.objects.count() == 1
    assert Job.objects.count() == 1


def test_cooldown_skips_the_second_dispatch_on_a_project(world):
    world.config(
        "version: 1\nagents:\n  helper:\n    backend: claude-code\n    model: m\n"
        "    system_prompt: s\n    permissions: [read]\ntriggers:\n"
        "  - on: issue_assigned\n    agent: helper\npolicies:\n  cooldown: 1h\n"
    )
    first = world.sim.add_issue(world.project, "One", "", world.human)
    second = world.sim.add_issue(world.project, "Two", "", world.human)
    world.sim.assign_issue(world.project, first.iid, ["mate-bot"], by=world.human)
    world.sim.assign_issue(world.project, second.iid, ["mate-bot"], by=world.human)
    assert [r for _, r in outcomes()] == ["dispatched", "skipped_cooldown"]
    assert "next_allowed_at" in DeliveryEvent.objects.order_by("id").last().detail


def test_loop_breaker_and_queue_cap(world, settings):
    settings.MATE_MAX_JOBS_PER_OBJECT_PER_HOUR = 2
    settings.MATE_MAX_PENDING_PER_TENANT = 1
    issue = world.sim.add_issue(world.project, "Loop", "", world.human, assignees=["mate-bot"])
    for n in range(3):
        world.sim.post_note(world.project, "issue", issue.iid, f"@mate-bot ping {n}", world.human)
    # mates=1: the first job starts, the second waits; the third hits the loop breaker.
    assert [r for _, r in outcomes()] == ["dispatched", "dispatched", "refused"]
    assert sorted(Job.objects.values_list("status", flat=True)) == ["PENDING", "STARTING"]
    other = world.sim.add_issue(world.project, "Other", "", world.human, assignees=["mate-bot"])
    world.sim.post_note(world.project, "issue", other.iid, "@mate-bot too", world.human)
    assert outcomes()[-1] == ("comment_mention", "rejected_queue_full")


def test_bot_authored_note_never_triggers(world):
    issue = world.sim.add_issue(world.project, "Ping", "", world.human)
    world.sim.post_note(world.project, "issue", issue.iid, "@mate-bot hello me", world.bot)
    (row,) = DeliveryEvent.objects.all()
    assert row.resolution == "ignored"
    assert row.reason == "caused by Mate's own job"
    assert not Job.objects.exists()


def test_suspended_tenant_records_but_dispatches_nothing(world):
    from tenants import services

    services.set_suspended(tenant=world.tenant, suspended=True)
    issue = world.sim.add_issue(world.project, "Paused", "", world.human)
    world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert outcomes() == [("issue_assigned", "refused")]
    assert DeliveryEvent.objects.get().reason == "the tenant is suspended"


def test_failed_pipeline_fires_and_reads_config_at_the_mr_source_branch(world):
    sim, project = world.sim, world.project
    sim.commit_files(
        project,
        "feature/ci",
        {".mate.yml": "version: 1\nagents:\n  helper:\n    permissions: [read, comment]\n"},
        start_branch="main",
    )
    mr = sim.open_merge_request(
        project, "feature/ci", "main", author=world.human, title="CI", assignees=["mate-bot"]
    ).object
    DeliveryEvent.objects.all().delete()
    Job.objects.all().delete()
    sim.fail_pipeline(project, "feature/ci", merge_request=mr, by=world.human)
    job = Job.objects.get(event="pipeline_failed")
    assert job.snapshot["config"]["ref"] == "feature/ci"
    assert job.snapshot["authorities"] == ["read", "comment"]


def test_fork_merge_request_uses_the_target_default_branch_config(world):
    sim, project = world.sim, world.project
    fork = sim.add_project("mallory/widget", fork_of=project, members={world.human: 40})
    sim.commit_files(
        fork,
        "evil",
        {".mate.yml": "version: 1\nagents:\n  helper:\n    permissions: [read]\n"},
        start_branch="main",
    )
    sim.open_merge_request(
        project, "evil", "main", author=world.human, title="From fork", source_project=fork
    )
    job = Job.objects.get()
    assert job.snapshot["config"]["ref"] == "main"  # not the fork's branch
    assert job.snapshot["authorities"] == ["read", "comment", "push_branch", "open_mr"]
    fork_reads = [r for r in sim.requests_to("GET", "/repository/files/") if "ref=evil" in r.query]
    assert fork_reads == []


def test_delivery_for_a_project_the_bot_cannot_see_is_ignored(world):
    sim = world.sim
    secret_project = sim.add_project("other/secret", members={world.human: 40})
    hook = world.project.hooks[0]
    sim.add_hook(secret_project, hook.url, token=hook.token)
    issue = sim.add_issue(secret_project, "Hidden", "", world.human, assignees=["mate-bot"])
    sim.post_note(secret_project, "issue", issue.iid, "@mate-bot hi", world.human)
    (row,) = DeliveryEvent.objects.all()
    assert row.resolution == "ignored"
    assert "not visible to @mate-bot" in row.reason
    assert not Job.objects.exists()


def test_mate_route_agrees_with_live_routing(world, tmp_path):
    """The offline command, fed the recorded delivery and the same files, decides the same."""
    import json
    from io import StringIO

    from django.core.management import call_command

    sim, project = world.sim, world.project
    repo_yml = "version: 1\nagents:\n  helper:\n    permissions: [read, comment]\n"
    sim.commit_files(project, "feature/r", {".mate.yml": repo_yml}, start_branch="main")
    sim.open_merge_request(
        project, "feature/r", "main", author=world.human, title="R", assignees=["mate-bot"]
    )
    delivery = Delivery.objects.get()
    live = [
        (o.event, o.detail.get("trigger"), o.detail.get("agent"), o.detail.get("authorities"))
        for o in delivery.outcomes.order_by("position")
    ]
    files = {
        "t.yml": world.tenant.current_config().text,
        "r.yml": repo_yml,
        "p.json": json.dumps(delivery.body),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    out = StringIO()
    call_command(
        "mate",
        "route",
        "--tenant",
        str(tmp_path / "t.yml"),
        "--repo",
        str(tmp_path / "r.yml"),
        "--bot",
        "mate-bot",
        "--event-type",
        delivery.hook,
        "--payload",
        str(tmp_path / "p.json"),
        "--json",
        stdout=out,
    )
    offline = [
        (e["event"], e["trigger"], e["agent"], e["authorities"])
        for e in json.loads(out.getvalue())["events"]
    ]
    assert offline == live
    assert [e for e, *_ in live] == ["mr_opened", "mr_assigned"]


THREE_LABELS_CONFIG = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help with the issue.
    permissions: [read, comment]
triggers:
  - on: label_applied
    agent: helper
    label: [a, b, c]
"""


def test_a_failing_gitlab_is_asked_once_per_delivery_not_once_per_event(world):
    """The per-delivery read cache keeps errors too (SPEC §5.2, THREATS T44)."""
    sim = world.sim
    world.config(THREE_LABELS_CONFIG)
    issue = sim.add_issue(world.project, "Crash", "", world.human, assignees=[world.bot])
    sim.fail_next(50, 500, method="GET", path=f"/projects/{world.project.id}")
    sim.requests.clear()
    sim.add_labels(world.project, "issue", issue.iid, ["a", "b", "c"], by=world.human)
    outcomes = list(DeliveryEvent.objects.order_by("position"))
    assert [(o.event, o.resolution) for o in outcomes] == [("label_applied", "refused")] * 3
    assert {o.reason for o in outcomes} == {
        "could not read .mate.yml: GitLab answered 500 while reading the project"
    }
    assert len([r for r in sim.requests if r.kind == "api"]) == 1
