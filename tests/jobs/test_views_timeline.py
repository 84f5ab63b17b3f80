"""The live timeline endpoint: cursor semantics, job state, bad input, tenancy; event text."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import Job, JobStatus, Outcome
from jobs.views import present, timeline
from tests.jobs.console_world import ANSI, HOSTILE, add_event, build_world, make_job, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(db):
    return build_world()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def events_of(client, tenant, job, after=None):
    params = {} if after is None else {"after": after}
    return client.get(url("job_events", tenant, job=job.uid), params)


def test_the_cursor_returns_each_event_once_in_order(cw):
    job = make_job(cw.tenant)
    client = signed_in(cw.viewer)
    first = [add_event(job, "log", {"line": f"a{i}"}) for i in range(3)]
    answer = events_of(client, cw.tenant, job, 0).json()
    assert [e["id"] for e in answer["events"]] == [e.pk for e in first]
    assert answer["cursor"] == first[-1].pk and answer["more"] is False
    # nothing new: same cursor back, no event
    again = events_of(client, cw.tenant, job, answer["cursor"]).json()
    assert again["events"] == [] and again["cursor"] == answer["cursor"]
    later = [add_event(job, "status", {"from": "RUNNING", "to": "FINISHING", "reason": "x"})]
    answer = events_of(client, cw.tenant, job, answer["cursor"]).json()
    assert [e["id"] for e in answer["events"]] == [later[0].pk]
    assert answer["events"][0]["text"] == "RUNNING → FINISHING: x"


def test_large_backlogs_come_in_batches(cw, monkeypatch):
    monkeypatch.setattr(timeline, "BATCH", 4)
    job = make_job(cw.tenant)
    made = [add_event(job, "log", {"line": str(i)}) for i in range(10)]
    client = signed_in(cw.viewer)
    cursor, seen, calls = 0, [], 0
    while True:
        calls += 1
        answer = events_of(client, cw.tenant, job, cursor).json()
        seen += [e["id"] for e in answer["events"]]
        cursor = answer["cursor"]
        if not answer["more"]:
            break
    assert seen == [e.pk for e in made] and calls == 3


def test_the_answer_carries_the_job_state(cw):
    job = make_job(cw.tenant, status=JobStatus.RUNNING, started_at=timezone.now())
    client = signed_in(cw.viewer)
    state = events_of(client, cw.tenant, job).json()["job"]
    assert (state["status"], state["final"], state["outcome"]) == ("RUNNING", False, "")
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, outcome=Outcome.FAILURE, finished_at=timezone.now()
    )
    response = events_of(client, cw.tenant, job)
    state = response.json()["job"]
    assert (state["status"], state["final"], state["outcome_class"]) == ("DONE", True, "bad")
    assert response["Cache-Control"] == "no-store"


def test_events_of_other_jobs_never_appear(cw):
    job = make_job(cw.tenant)
    other_job = make_job(cw.tenant)
    add_event(other_job, "log", {"line": "not mine"})
    mine = add_event(job, "log", {"line": "mine"})
    answer = events_of(signed_in(cw.viewer), cw.tenant, job, 0).json()
    assert [e["id"] for e in answer["events"]] == [mine.pk]


@pytest.mark.parametrize("after", ["-1", "abc", "1.5", "٣", "99999999999999999999999", " 1"])
def test_bad_cursors_are_400(cw, after):
    job = make_job(cw.tenant)
    response = events_of(signed_in(cw.viewer), cw.tenant, job, after)
    assert response.status_code == 400
    assert "after" in response.json()["error"]


def test_another_tenants_job_is_404(cw):
    foreign = make_job(cw.other)
    add_event(foreign, "log", {"line": "secret-ish"})
    client = signed_in(cw.owner)
    assert events_of(client, cw.tenant, foreign).status_code == 404
    assert events_of(client, cw.other, foreign).status_code == 404


def test_hostile_text_is_neutralized_in_json(cw):
    job = make_job(cw.tenant)
    add_event(job, "log", {"line": HOSTILE})
    # (PostgreSQL's jsonb cannot hold NUL at all; present.neutralize handles it, see below.)
    add_event(job, "log", {"line": ANSI + "\x01\x07\x7f\x9b"})
    texts = [e["text"] for e in events_of(signed_in(cw.viewer), cw.tenant, job).json()["events"]]
    # HTML stays as text (the page assigns it with textContent); controls become symbols.
    assert texts[0] == HOSTILE
    assert texts[1] == "\u241b[31mred\u241b[0m\u2401\u2407\u2421\ufffd"


def test_neutralize_keeps_tabs_and_newlines_only():
    assert present.neutralize("a\tb\nc\x00d\re\u2066f\u200fg") == (
        "a\tb\nc\u2400d\u240de\ufffdf\ufffdg"
    )
    assert present.neutralize(12) == "12"


@pytest.mark.parametrize(
    ("kind", "data", "text"),
    [
        ("log", {"line": "hello\tworld"}, "hello\tworld"),
        (
            "status",
            {"from": None, "to": "PENDING", "reason": "dispatched"},
            "new → PENDING: dispatched",
        ),
        (
            "tool_call",
            {"tool": "add_note", "outcome": "error", "category": "forbidden", "duration_ms": 12},
            "add_note error (forbidden) in 12 ms",
        ),
        ("warning", {"message": "log capped"}, "log capped"),
        (
            "final",
            {"outcome": "SUCCESS", "exit_code": 0, "reason": "agent exited with code 0"},
            "outcome SUCCESS, exit code 0: agent exited with code 0",
        ),
        ("log", {"odd": [1, "\x1b"]}, '{"odd": [1, "\\u001b"]}'),
    ],
)
def test_event_text(cw, kind, data, text):
    job = make_job(cw.tenant)
    assert present.event_view(add_event(job, kind, data))["text"] == text


def test_usage_lines_are_labelled_by_stream(cw):
    job = make_job(cw.tenant)
    view = present.event_view(add_event(job, "log", {"stream": "usage", "line": "agent usage"}))
    assert view["label"] == "log usage"
