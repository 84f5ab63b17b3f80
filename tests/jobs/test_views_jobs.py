"""Jobs list, its refresh endpoint, job detail and cancel (SPEC §8, §6.7; T20, T21, T29)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.models import Job, JobEvent, JobStatus, Outcome
from jobs.views import present
from jobs.views.common import PAGE_SIZE
from mate.csp import POLICY
from tests.jobs.console_world import ANSI, HOSTILE, add_event, build_world, make_job, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(db):
    return build_world()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# -- list --------------------------------------------------------------------------------


def test_list_is_newest_first_with_the_spec_columns(cw):
    old = make_job(cw.tenant, agent="old-agent", status=JobStatus.DONE, outcome=Outcome.SUCCESS)
    new = make_job(cw.tenant, agent="new-agent")
    make_job(cw.other, agent="foreign-agent")
    response = signed_in(cw.viewer).get(url("jobs", cw.tenant))
    assert response.status_code == 200
    html = response.content.decode()
    for column in ("Started", "Agent", "Trigger", "Status", "Duration", "Tools", "Outcome"):
        assert f"<th>{column}</th>" in html
    assert html.index(str(new.uid)) < html.index(str(old.uid))
    assert "foreign-agent" not in html
    assert f'data-uid="{new.uid}" data-final="0"' in html
    assert f'data-uid="{old.uid}" data-final="1"' in html
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "DONE"}, {"done"}),
        ({"agent": "reviewer"}, {"reviewer"}),
        ({"project": "acme/other"}, {"other-project"}),
        ({"status": "RUNNING", "agent": "helper"}, {"running"}),
    ],
)
def test_filters(cw, params, expected):
    jobs = {
        "done": make_job(cw.tenant, status=JobStatus.DONE, outcome=Outcome.SUCCESS),
        "reviewer": make_job(cw.tenant, agent="reviewer", status=JobStatus.PENDING),
        "other-project": make_job(
            cw.tenant, project_path="acme/other", status=JobStatus.PENDING, agent="x"
        ),
        "running": make_job(cw.tenant, status=JobStatus.RUNNING),
    }
    html = signed_in(cw.viewer).get(url("jobs", cw.tenant), params).content.decode()
    shown = {name for name, job in jobs.items() if str(job.uid) in html}
    assert shown == expected


@pytest.mark.parametrize(
    "params",
    [
        {"status": "EXPLODED"},
        {"agent": "a" * 201},
        {"before": "not-a-uuid"},
        {"before": str(uuid.uuid4())},
    ],
)
def test_bad_filters_are_400(cw, params):
    make_job(cw.tenant)
    response = signed_in(cw.viewer).get(url("jobs", cw.tenant), params)
    assert response.status_code == 400
    assert "Nothing is filtered" in response.content.decode()


def test_a_cursor_of_another_tenants_job_is_400(cw):
    foreign = make_job(cw.other)
    response = signed_in(cw.viewer).get(url("jobs", cw.tenant), {"before": str(foreign.uid)})
    assert response.status_code == 400


def test_keyset_pages_cover_every_job_once(cw):
    made = [make_job(cw.tenant, status=JobStatus.DONE) for _ in range(PAGE_SIZE * 2 + 3)]
    client = signed_in(cw.viewer)
    seen: list[str] = []
    params: dict = {}
    for _ in range(5):
        response = client.get(url("jobs", cw.tenant), params)
        seen += re.findall(r'<tr data-uid="([0-9a-f-]{36})"', response.content.decode())
        cursor = response.context["next_cursor"]
        if cursor is None:
            break
        params = {"before": str(cursor)}
    assert seen == [str(job.uid) for job in reversed(made)]


def test_list_query_count_does_not_grow_with_jobs(cw, django_assert_max_num_queries):
    Job.objects.bulk_create(
        [
            Job(
                tenant=cw.tenant,
                event_key=f"bulk:{i}",
                event="issue_assigned",
                bot_username="mate-bot",
                agent="helper",
                trigger="tenant[0]",
                project_id=1,
                project_path="acme/widget",
                object_kind="issue",
                object_iid=i,
                loop_key=f"issue/{i}",
                status=JobStatus.DONE,
            )
            for i in range(2000)
        ]
    )
    client = signed_in(cw.viewer)
    client.get(url("jobs", cw.tenant))  # warm the session
    # session, user, membership, jobs, the tenant switcher, and the session save (3 queries)
    with django_assert_max_num_queries(8):
        first = client.get(url("jobs", cw.tenant))
    with django_assert_max_num_queries(9):  # + the cursor's row
        client.get(url("jobs", cw.tenant), {"before": str(first.context["next_cursor"])})
    with django_assert_max_num_queries(8):
        client.get(url("jobs", cw.tenant), {"status": "DONE", "agent": "helper"})


def test_list_query_orders_by_the_primary_key(cw):
    """Newest first by key: a range scan of an index whatever the table size (no sort of the
    tenant's jobs on SQLite, whose tenant index ends with the row id)."""
    make_job(cw.tenant)
    client = signed_in(cw.viewer)

    with CaptureQueriesContext(connection) as queries:
        client.get(url("jobs", cw.tenant))
    (listing,) = [q["sql"] for q in queries if 'FROM "jobs_job"' in q["sql"]]
    assert 'ORDER BY "jobs_job"."id" DESC' in listing
    assert "LIMIT 51" in listing
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM jobs_job WHERE tenant_id = %s "
                "ORDER BY id DESC LIMIT 51",
                [cw.tenant.pk],
            )
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "TEMP B-TREE" not in plan


# -- refresh endpoint ----------------------------------------------------------------------


def test_refresh_returns_only_the_requested_rows(cw):
    running = make_job(cw.tenant, status=JobStatus.RUNNING, started_at=timezone.now())
    done = make_job(cw.tenant, status=JobStatus.DONE, outcome=Outcome.FAILURE)
    response = signed_in(cw.viewer).get(url("job_rows", cw.tenant), {"ids": str(running.uid)})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    answer = response.json()
    assert set(answer["rows"]) == {str(running.uid)}
    assert str(done.uid) not in response.content.decode()
    row = answer["rows"][str(running.uid)]
    assert row["status"] == "RUNNING" and row["status_class"] == "live" and not row["final"]
    assert answer["new"] == []  # no ``top``: not the first page


def test_refresh_sees_status_changes(cw):
    job = make_job(cw.tenant, status=JobStatus.RUNNING, started_at=timezone.now())
    client = signed_in(cw.viewer)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, outcome=Outcome.SUCCESS, finished_at=timezone.now(), tool_calls=3
    )
    row = client.get(url("job_rows", cw.tenant), {"ids": str(job.uid)}).json()["rows"][str(job.uid)]
    assert (row["status"], row["outcome"], row["outcome_class"], row["tools"], row["final"]) == (
        "DONE",
        "SUCCESS",
        "ok",
        3,
        True,
    )


def test_refresh_leaves_out_other_tenants_and_unknown_ids(cw):
    mine = make_job(cw.tenant)
    foreign = make_job(cw.other)
    unknown = uuid.uuid4()
    ids = ",".join(str(i) for i in (mine.uid, foreign.uid, unknown))
    answer = signed_in(cw.viewer).get(url("job_rows", cw.tenant), {"ids": ids}).json()
    assert set(answer["rows"]) == {str(mine.uid)}
    assert set(answer["missing"]) == {str(foreign.uid), str(unknown)}
    assert "foreign" not in str(answer["rows"])


def test_refresh_brings_newer_jobs_matching_the_filters(cw):
    top = make_job(cw.tenant)
    newer = make_job(cw.tenant)
    make_job(cw.tenant, agent="other-agent")
    make_job(cw.other)
    client = signed_in(cw.viewer)
    answer = client.get(
        url("job_rows", cw.tenant), {"ids": "", "top": str(top.uid), "agent": "helper"}
    ).json()
    assert [row["uid"] for row in answer["new"]] == [str(newer.uid)]
    everything = client.get(url("job_rows", cw.tenant), {"top": "none"}).json()["new"]
    assert len(everything) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"ids": "nope"},
        {"ids": ",".join(str(uuid.uuid4()) for _ in range(201))},
        {"top": "bad"},
        {"status": "bad"},
    ],
)
def test_refresh_bad_input_is_400_json(cw, params):
    response = signed_in(cw.viewer).get(url("job_rows", cw.tenant), params)
    assert response.status_code == 400
    assert "error" in response.json()


def test_refresh_query_count_is_bounded(cw, django_assert_max_num_queries):
    jobs = [make_job(cw.tenant) for _ in range(30)]
    client = signed_in(cw.viewer)
    ids = ",".join(str(j.uid) for j in jobs)
    client.get(url("job_rows", cw.tenant), {"ids": ids})
    # session, user, membership, the rows, the newer rows, and the session save (3 queries)
    with django_assert_max_num_queries(8):
        client.get(url("job_rows", cw.tenant), {"ids": ids, "top": str(jobs[-1].uid)})


# -- detail --------------------------------------------------------------------------------


def test_detail_shows_badges_times_cost_and_snapshot(cw):
    started = timezone.now() - timedelta(minutes=3)
    job = make_job(
        cw.tenant,
        status=JobStatus.CANCELED,
        outcome=Outcome.TIMEOUT,
        started_at=started,
        finished_at=started + timedelta(seconds=65),
        tool_calls=4,
        cost_usd="0.1234",
    )
    html = signed_in(cw.viewer).get(url("job", cw.tenant, job=job.uid)).content.decode()
    assert 'class="badge bad" data-field="status" id="job-status">CANCELED' in html
    assert 'class="badge bad" data-field="outcome" id="job-outcome">TIMEOUT' in html
    assert "1m 05s" in html and "$0.1234" in html
    assert 'data-field="tools">4<' in html
    assert "https://gitlab.example.com/acme/widget/-/issues/7" in html
    assert "tenant trigger #0" in html and "(on issue_assigned)" in html
    assert (
        '<span class="badge">read</span>' in html and '<span class="badge">comment</span>' in html
    )
    assert "abc123def456" in html
    assert 'id="live-label" class="badge live-label" hidden' in html
    assert 'id="cancel-job"' not in html  # final: nothing to cancel


def test_success_is_the_only_green_outcome():
    assert present.outcome_class(Outcome.SUCCESS) == "ok"
    for outcome in (Outcome.FAILURE, Outcome.CANCELED, Outcome.TIMEOUT):
        assert present.outcome_class(outcome) == "bad"


@pytest.mark.parametrize(
    ("kind", "iid", "pipeline", "expected"),
    [
        ("issue", 7, None, "https://gl.test/g/p/-/issues/7"),
        ("merge_request", 3, None, "https://gl.test/g/p/-/merge_requests/3"),
        ("pipeline", 3, 99, "https://gl.test/g/p/-/pipelines/99"),
        ("pipeline", None, None, ""),
    ],
)
def test_gitlab_object_links(cw, kind, iid, pipeline, expected):
    cw.tenant.gitlab_url = "https://gl.test/"
    job = make_job(
        cw.tenant,
        project_path="g/p",
        object_kind=kind,
        object_iid=iid,
        snapshot={"object": {"kind": kind, "iid": iid, "pipeline_id": pipeline}},
    )
    assert present.gitlab_object_url(cw.tenant, job) == expected


def test_detail_renders_hostile_output_as_inert_text(cw):
    job = make_job(cw.tenant, agent="<b>agent</b>")
    add_event(job, "log", {"line": HOSTILE})
    add_event(job, "log", {"line": ANSI})
    add_event(job, "warning", {"message": "<script>alert(2)</script>"})
    add_event(job, "log", {"line": "bidi \u202etxt.exe"})
    response = signed_in(cw.viewer).get(url("job", cw.tenant, job=job.uid))
    html = response.content.decode()
    assert HOSTILE not in html and "<script>alert" not in html and "<b>agent" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\x1b" not in html and "\u241b[31mred" in html
    assert "\u202e" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_detail_lists_the_newest_events_first_with_the_cursor(cw):
    job = make_job(cw.tenant)
    events = [add_event(job, "log", {"line": f"line {i}"}) for i in range(3)]
    response = signed_in(cw.viewer).get(url("job", cw.tenant, job=job.uid))
    html = response.content.decode()
    assert html.index("line 2") < html.index("line 1") < html.index("line 0")
    assert f'data-cursor="{events[-1].pk}"' in html
    assert 'id="live-label" class="badge live-label">LIVE' in html


def test_detail_of_another_tenants_job_under_my_tenant_is_404(cw):
    foreign = make_job(cw.other)
    assert signed_in(cw.owner).get(url("job", cw.tenant, job=foreign.uid)).status_code == 404


def test_operators_see_the_cancel_button_viewers_do_not(cw):
    job = make_job(cw.tenant, status=JobStatus.PENDING)
    assert (
        'id="cancel-job"'
        in signed_in(cw.operator).get(url("job", cw.tenant, job=job.uid)).content.decode()
    )
    assert (
        'id="cancel-job"'
        not in signed_in(cw.viewer).get(url("job", cw.tenant, job=job.uid)).content.decode()
    )


# -- cancel --------------------------------------------------------------------------------


def test_cancel_a_pending_job(cw):
    job = make_job(cw.tenant, status=JobStatus.PENDING)
    response = signed_in(cw.operator).post(url("job_cancel", cw.tenant, job=job.uid), follow=True)
    assert response.redirect_chain[-1][0] == url("job", cw.tenant, job=job.uid)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert job.cancel_reason == "canceled by oscar"
    assert JobEvent.objects.filter(job=job, kind="final").exists()
    assert "Cancel requested" in response.content.decode()


def test_cancel_a_running_job_requests_it(cw):
    job = make_job(cw.tenant, status=JobStatus.RUNNING, worker="host:1")
    signed_in(cw.owner).post(url("job_cancel", cw.tenant, job=job.uid))
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.cancel_requested_at is not None
    html = signed_in(cw.owner).get(url("job", cw.tenant, job=job.uid)).content.decode()
    assert 'data-field="cancel_requested">cancel requested' in html


def test_cancel_of_a_final_job_changes_nothing(cw):
    job = make_job(cw.tenant, status=JobStatus.DONE, outcome=Outcome.SUCCESS)
    response = signed_in(cw.operator).post(url("job_cancel", cw.tenant, job=job.uid), follow=True)
    assert "already ended" in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.outcome, job.cancel_requested_at) == ("DONE", "SUCCESS", None)


def test_cancel_needs_post_operator_csrf_and_own_tenant(cw):
    job = make_job(cw.tenant, status=JobStatus.PENDING)
    foreign = make_job(cw.other, status=JobStatus.PENDING)
    cancel = url("job_cancel", cw.tenant, job=job.uid)
    assert signed_in(cw.operator).get(cancel).status_code == 405
    assert signed_in(cw.viewer).post(cancel).status_code == 403
    assert (
        signed_in(cw.owner).post(url("job_cancel", cw.tenant, job=foreign.uid)).status_code == 404
    )
    assert signed_in(cw.other_owner).post(cancel).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cw.operator)
    assert strict.post(cancel).status_code == 403
    assert (
        strict.post(cancel, HTTP_ORIGIN="https://evil.example", HTTP_X_CSRFTOKEN="x").status_code
        == 403
    )
    for row in (job, foreign):
        row.refresh_from_db()
        assert row.status == JobStatus.PENDING
