"""The delivery log: list and filters, one delivery, and "explain" (SPEC §5.4, §4.11)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from jobs.models import Delivery, Job
from jobs.routing.gitlab_reads import GitLabReadError, RepoFile
from tenants.models import ConfigVersion
from tests.jobs.console_world import (
    HOSTILE,
    build_world,
    forget_validated_configs,
    make_delivery,
    make_job,
    url,
)
from tests.jobs.test_events import issue_payload, user

pytestmark = pytest.mark.django_db

CONFIG = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help with the issue.
    permissions: [read, comment, push_branch]
triggers:
  - on: issue_assigned
    agent: helper
"""
PROBLEM = {"severity": "error", "path": "agents.x", "line": 4, "column": 7, "message": "bad key"}


@pytest.fixture
def cw(db):
    return build_world()


def signed_in(user_) -> Client:
    client = Client()
    client.force_login(user_)
    return client


# -- list ----------------------------------------------------------------------------------


def test_list_shows_resolutions_reasons_jobs_and_problems(cw):
    job = make_job(cw.tenant)
    make_delivery(
        cw.tenant,
        outcomes=[
            {"event": "issue_assigned", "bot": "mate-bot", "resolution": "dispatched", "job": job},
            {
                "event": "mr_opened",
                "bot": "mate-bot",
                "resolution": "config_invalid",
                "reason": ".mate.yml at main has 1 error(s)",
                "detail": {"problems": [PROBLEM]},
            },
            {
                "event": "comment_mention",
                "resolution": "skipped_cooldown",
                "reason": "cooldown",
                "detail": {"next_allowed_at": "2030-01-01T00:00:00+00:00"},
            },
        ],
    )
    make_delivery(cw.other, hook="Foreign Hook")
    response = signed_in(cw.viewer).get(url("deliveries", cw.tenant))
    html = response.content.decode()
    assert response.status_code == 200
    assert url("job", cw.tenant, job=job.uid) in html
    assert "Config invalid" in html and "4:7" in html and "bad key" in html
    assert ".mate.yml at main has 1 error(s)" in html
    assert "next allowed at 2030-01-01T00:00:00+00:00" in html
    assert "Foreign Hook" not in html
    # Explain reads GitLab with the bot's token: offered to operators, as a POST (T44).
    assert "Explain" not in html
    html = signed_in(cw.operator).get(url("deliveries", cw.tenant)).content.decode()
    assert 'method="post"' in html and "Explain" in html


def test_filters(cw):
    day = datetime(2030, 5, 17, 12, tzinfo=UTC)
    rows = {
        "refused": make_delivery(
            cw.tenant, outcomes=[{"event": "issue_assigned", "resolution": "refused"}]
        ),
        "note": make_delivery(
            cw.tenant, hook="Note Hook", outcomes=[{"event": "", "resolution": "ignored"}]
        ),
        "dated": make_delivery(cw.tenant, hook="Push Hook", received_at=day),
    }
    client = signed_in(cw.viewer)

    def shown(params):
        html = client.get(url("deliveries", cw.tenant), params).content.decode()
        return {name for name, d in rows.items() if str(d.uid) in html}

    assert shown({"resolution": "refused"}) == {"refused"}
    assert shown({"hook": "Note Hook"}) == {"note"}
    assert shown({"date": "2030-05-17"}) == {"dated"}
    assert shown({"date": "2030-05-18"}) == set()
    assert shown({}) == set(rows)


@pytest.mark.parametrize(
    "params",
    [
        {"resolution": "exploded"},
        {"date": "17/05/2030"},
        {"hook": "h" * 101},
        {"before": "nope"},
        {"before": str(uuid.uuid4())},
    ],
)
def test_bad_filters_are_400(cw, params):
    assert signed_in(cw.viewer).get(url("deliveries", cw.tenant), params).status_code == 400


def test_pages_cover_every_delivery_once(cw):
    made = [make_delivery(cw.tenant) for _ in range(55)]
    client = signed_in(cw.viewer)
    first = client.get(url("deliveries", cw.tenant))
    second = client.get(url("deliveries", cw.tenant), {"before": str(first.context["next_cursor"])})
    uids = [d.uid for d in first.context["deliveries"]] + [
        d.uid for d in second.context["deliveries"]
    ]
    assert uids == [d.uid for d in reversed(made)]
    assert second.context["next_cursor"] is None


def test_list_query_count_is_flat(cw, django_assert_max_num_queries):
    job = make_job(cw.tenant)
    for _ in range(40):
        make_delivery(cw.tenant, outcomes=[{"event": "x", "resolution": "dispatched", "job": job}])
    client = signed_in(cw.viewer)
    client.get(url("deliveries", cw.tenant))
    # session, user, membership, deliveries, their outcomes (+ jobs), switcher, session save
    with django_assert_max_num_queries(9):
        client.get(url("deliveries", cw.tenant), {"resolution": "dispatched"})


# -- one delivery --------------------------------------------------------------------------


def test_detail_shows_headers_body_and_outcomes_as_text(cw):
    delivery = make_delivery(
        cw.tenant,
        headers={"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": "leaked", "X-Evil": HOSTILE},
        body={"title": HOSTILE, "nested": {"a": [1, 2]}, "ctl": "\x1b[2J"},
        outcomes=[{"event": "issue_assigned", "resolution": "no_trigger", "reason": "none"}],
    )
    response = signed_in(cw.viewer).get(url("delivery", cw.tenant, delivery=delivery.uid))
    html = response.content.decode()
    assert response.status_code == 200
    assert "X-Gitlab-Event" in html and "leaked" not in html
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;nested&quot;: {\n    &quot;a&quot;: [\n      1," in html  # pretty JSON
    assert "\x1b" not in html and "\\u001b[2J" in html
    assert "No trigger matched" in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_huge_body_is_cut(cw, monkeypatch):
    from jobs.views import deliveries

    monkeypatch.setattr(deliveries, "MAX_BODY_CHARS", 100)
    delivery = make_delivery(cw.tenant, body={"text": "x" * 500})
    html = signed_in(cw.viewer).get(url("delivery", cw.tenant, delivery=delivery.uid)).content
    assert b"only its beginning is shown" in html and b"x" * 200 not in html


def test_other_tenants_delivery_is_404_everywhere(cw):
    foreign = make_delivery(cw.other)
    client = signed_in(cw.owner)
    for method, name in (("get", "delivery"), ("post", "delivery_explain")):
        send = getattr(client, method)
        assert send(url(name, cw.tenant, delivery=foreign.uid)).status_code == 404
        assert send(url(name, cw.other, delivery=foreign.uid)).status_code == 404


# -- explain -------------------------------------------------------------------------------


class FakeReader:
    """Stands in for BotReader (GitLab is tested end to end in test_routing/explain below)."""

    files: dict = {}
    visible = True
    fail = False
    calls: list = []
    actor_level = 30

    def __init__(self, tenant, bot):
        self.bot = bot

    def project_visible(self, project_id):
        if self.fail:
            raise GitLabReadError("GitLab answered 500 while reading the project")
        return self.visible

    def repo_file(self, project_id, path, ref):
        FakeReader.calls.append((self.bot.username, project_id, path, ref))
        return RepoFile(text=self.files.get(ref), commit="c0ffee" * 6)

    # GitLab's state behind the delivery: issue #23 is assigned to the bot; its actor (root) is a
    # Developer of the project.
    def issuable(self, project_id, kind, iid):
        return {
            "iid": iid,
            "assignees": [user(7, "mate-bot")],
            "author": user(2, "alice"),
            "labels": [],
            "state": "opened",
            "title": "Crash on save",
            "web_url": "https://gitlab.example/acme/widget/-/issues/23",
        }

    def member(self, project_id, user_id):
        return {"id": user_id, "username": "root", "access_level": FakeReader.actor_level}


@pytest.fixture
def explained(cw, monkeypatch):
    cw.tenant.gitlab_url = "https://gitlab.example"
    cw.tenant.save()
    cw.bot.gitlab_user_id = 7
    cw.bot.save()
    ConfigVersion.objects.create(tenant=cw.tenant, version=1, text=CONFIG)
    FakeReader.files, FakeReader.visible, FakeReader.fail, FakeReader.calls = {}, True, False, []
    FakeReader.actor_level = 30
    monkeypatch.setattr("jobs.routing.reads.BotReader", FakeReader)
    bot = user(7, "mate-bot")
    body = issue_payload(assignees=[bot], changes={"assignees": {"previous": [], "current": [bot]}})
    delivery = make_delivery(
        cw.tenant,
        body=body,
        outcomes=[{"event": "issue_assigned", "bot": "mate-bot", "resolution": "skipped_cooldown"}],
    )
    yield cw, delivery
    forget_validated_configs()


def explain(cw, delivery, user_=None):
    client = signed_in(user_ or cw.operator)
    response = client.post(url("delivery_explain", cw.tenant, delivery=delivery.uid))
    assert response.status_code == 200
    return response


def test_explain_shows_the_decision_per_event(explained):
    cw, delivery = explained
    response = explain(cw, delivery)
    (row,) = response.context["explanation"].events
    assert (row.event, row.bot, row.config_ref, row.config_file) == (
        "issue_assigned",
        "mate-bot",
        "main",
        "missing",
    )
    assert row.trigger == {"origin": "tenant", "index": 0}
    assert (row.agent, row.authorities, row.resolution) == (
        "helper",
        ["read", "comment", "push_branch"],
        "matched",
    )
    assert row.recorded.resolution == "skipped_cooldown"
    assert (row.confirmation, row.actor_trust) == (
        "confirmed with GitLab",
        "actor @root has Developer access",
    )
    html = response.content.decode()
    assert "would dispatch" in html and "tenant trigger #0" in html and "Skipped (cooldown)" in html
    assert "confirmed with GitLab" in html and "actor @root has Developer access" in html
    assert FakeReader.calls == [("mate-bot", 14, ".mate.yml", "main")]
    assert not Job.objects.exists()  # explaining writes nothing
    assert Delivery.objects.get(pk=delivery.pk).outcomes.count() == 1


def test_explain_ignores_what_routing_cannot_store_as_routing_does(explained):
    cw, delivery = explained
    delivery.body["project"]["path_with_namespace"] = "group/" + "sub/" * 130 + "widget"
    delivery.save()
    (row,) = explain(cw, delivery).context["explanation"].events
    assert row.resolution == "ignored"
    assert row.refusal == "project path is 532 characters long; Mate stores at most 500"
    assert FakeReader.calls == []  # GitLab is not asked


def test_explain_narrowing_and_invalid_repo_files(explained):
    cw, delivery = explained
    FakeReader.files = {"main": "version: 1\nagents:\n  helper:\n    permissions: [read]\n"}
    (row,) = explain(cw, delivery).context["explanation"].events
    assert (row.config_file, row.authorities, row.config_commit) == (
        "found",
        ["read"],
        "c0ffee" * 6,
    )
    FakeReader.files = {"main": "version: 1\nagents:\n  helper:\n    permissions: [read, merge]\n"}
    response = explain(cw, delivery)
    (row,) = response.context["explanation"].events
    assert row.resolution == "config_invalid" and row.problems
    problem = row.problems[0]
    assert f"{problem['line']}:{problem['column']}" in response.content.decode()


def test_explain_refusals(explained):
    cw, delivery = explained
    cw.tenant.suspended_at = datetime.now(UTC) - timedelta(minutes=1)
    cw.tenant.save()
    (row,) = explain(cw, delivery).context["explanation"].events
    assert (row.resolution, row.refusal) == ("refused", "the tenant is suspended")
    FakeReader.fail = True
    (row,) = explain(cw, delivery).context["explanation"].events
    assert row.resolution == "refused" and "could not read .mate.yml" in row.refusal
    FakeReader.fail, FakeReader.visible = False, False
    (row,) = explain(cw, delivery).context["explanation"].events
    assert row.resolution == "ignored" and "not visible" in row.refusal


def test_explain_shows_the_actor_trust_refusal(explained):
    cw, delivery = explained
    FakeReader.actor_level = 20
    response = explain(cw, delivery)
    (row,) = response.context["explanation"].events
    reason = (
        "actor @root has Reporter access; this tenant needs Developer (policies.min_actor_role)"
    )
    assert (row.resolution, row.refusal, row.actor_trust) == ("refused", reason, reason)
    assert reason in response.content.decode()


def test_explain_without_event_says_why(cw):
    delivery = make_delivery(
        cw.tenant,
        hook="Push Hook",
        outcomes=[{"resolution": "ignored", "reason": "unsupported hook type Push Hook"}],
    )
    response = explain(cw, delivery)
    html = response.content.decode()
    assert "No event" in html and "unsupported hook type" in html


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_explain_agrees_with_live_routing_end_to_end(world, request):
    """The simulator sends real webhooks; explain re-reads .mate.yml through GitLab and reaches
    the decision live routing recorded (the escalating branch file, then a plain issue)."""
    request.addfinalizer(forget_validated_configs)
    sim, project = world.sim, world.project
    sim.commit_files(
        project,
        "feature/evil",
        {".mate.yml": "version: 1\nagents:\n  helper:\n    permissions: [read, merge]\n"},
        start_branch="main",
    )
    sim.open_merge_request(project, "feature/evil", "main", author=world.human, title="Evil")
    issue = sim.add_issue(project, "Crash", "", world.human)
    sim.assign_issue(project, issue.iid, ["mate-bot"], by=world.human)
    evil, plain = Delivery.objects.order_by("pk")
    client = signed_in(world.owner)

    (row,) = explain(world, evil, world.owner).context["explanation"].events
    recorded = evil.outcomes.get()
    assert (row.event, row.config_ref, row.resolution) == (
        "mr_opened",
        "feature/evil",
        "config_invalid",
    )
    assert recorded.resolution == "config_invalid"
    assert row.problems == recorded.detail["problems"]

    response = client.post(url("delivery_explain", world.tenant, delivery=plain.uid))
    (row,) = response.context["explanation"].events
    job = Job.objects.get()
    assert (row.event, row.resolution, row.agent, row.trigger) == (
        "issue_assigned",
        "matched",
        job.agent,
        {"origin": "tenant", "index": 0},
    )
    assert row.authorities == job.snapshot["authorities"]
    assert row.config_commit == job.snapshot["config"]["commit"]
    assert url("job", world.tenant, job=job.uid) in response.content.decode()


def test_a_delivery_stored_cut_shows_its_head_and_explains_why_there_is_no_event(cw):
    head = '{"object_kind": "issue", "pad": "xxxx'
    delivery = make_delivery(cw.tenant, hook="Issue Hook", body=None)
    Delivery.objects.filter(pk=delivery.pk).update(
        body_cut=True, body_head=head, received_bytes=300_000
    )
    page = signed_in(cw.viewer).get(url("delivery", cw.tenant, delivery=delivery.uid))
    html = page.content.decode()
    assert "Only the first 64 KiB of this 293.0\xa0KB body were kept" in html
    assert "&quot;object_kind&quot;: &quot;issue&quot;, &quot;pad&quot;: &quot;xxxx" in html
    response = explain(cw, delivery)
    assert response.context["explanation"].ignored == (
        "only the first 64 KiB of this delivery were kept, so it yields no event"
    )
