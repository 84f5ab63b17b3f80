"""The jobs console in real Chromium against the live server: the list refreshes unfinished rows,
the timeline fills live with Pause/Resume, hostile agent output stays inert under the CSP, and
Cancel works (SPEC §8, §6.7; T29)."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from jobs import timeline as job_timeline
from jobs.models import Job, JobStatus, Outcome
from tenants.models import ConfigVersion
from tests.jobs.console_world import (
    ANSI,
    HOSTILE,
    add_event,
    build_world,
    forget_validated_configs,
    make_job,
    url,
)

# Playwright's sync API runs an event loop in this thread; the ORM calls here are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFRESH_MS = 250
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


@pytest.fixture
def console(browser_page, live_server, settings):
    """A signed-in page (the owner of the world's tenant), polling every REFRESH_MS."""
    settings.MATE_CONSOLE_REFRESH_MS = REFRESH_MS
    world = build_world()
    client = Client()
    client.force_login(world.owner)
    browser_page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    browser_page.add_init_script(WATCH_CSP)
    dialogs: list[str] = []
    browser_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    world.page, world.base, world.dialogs = browser_page, live_server.url, dialogs
    yield world
    assert dialogs == []
    assert browser_page.evaluate("window.__csp") == []


def open_page(console, path: str):
    console.page.goto(console.base + path)
    return console.page


def row(page, job):
    return page.locator(f'tr[data-uid="{job.uid}"]')


def test_jobs_appear_and_unfinished_rows_refresh(console):
    running = make_job(console.tenant, status=JobStatus.RUNNING, started_at=timezone.now())
    done = make_job(console.tenant, status=JobStatus.DONE, outcome=Outcome.FAILURE)
    asked: list[list[str]] = []

    def note(request):
        if "/jobs/rows" in request.url:
            asked.append(parse_qs(urlsplit(request.url).query).get("ids", [""])[0].split(","))

    page = open_page(console, url("jobs", console.tenant))
    page.on("request", note)
    expect(row(page, running).locator('[data-field="status"]')).to_have_text("RUNNING")
    expect(row(page, done).locator('[data-field="outcome"]')).to_have_text("FAILURE")
    expect(row(page, done).locator('[data-field="outcome"]')).to_have_class("badge bad")

    newer = make_job(console.tenant, agent="late-agent", status=JobStatus.PENDING)
    expect(row(page, newer).locator('[data-field="agent"]')).to_have_text("late-agent")
    assert page.locator("#job-rows tr").first.get_attribute("data-uid") == str(newer.uid)

    Job.objects.filter(pk=running.pk).update(
        status=JobStatus.DONE, outcome=Outcome.SUCCESS, finished_at=timezone.now(), tool_calls=5
    )
    status = row(page, running).locator('[data-field="status"]')
    expect(status).to_have_text("DONE", timeout=REFRESH_MS * 8)
    expect(status).to_have_class("badge ok")
    expect(row(page, running).locator('[data-field="outcome"]')).to_have_text("SUCCESS")
    expect(row(page, running).locator('[data-field="tools"]')).to_have_text("5")
    expect(row(page, running)).to_have_attribute("data-final", "1")
    page.wait_for_timeout(REFRESH_MS * 3)
    assert asked, "the list never refreshed"
    assert all(str(done.uid) not in ids for ids in asked)  # finished rows are never refetched
    assert str(running.uid) not in asked[-1]  # ... nor once they finished


def test_a_failed_refresh_shows_a_banner_and_recovers(console):
    job = make_job(console.tenant, status=JobStatus.RUNNING)
    page = open_page(console, url("jobs", console.tenant))
    banner = page.locator("#refresh-banner")
    expect(banner).to_be_hidden()
    page.route("**/jobs/rows*", lambda route: route.fulfill(status=500, body="boom"))
    expect(banner).to_be_visible()
    expect(banner).to_have_text("Could not refresh; retrying")
    page.unroute("**/jobs/rows*")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHING)
    expect(banner).to_be_hidden()
    expect(row(page, job).locator('[data-field="status"]')).to_have_text("FINISHING")


def timeline_ids(page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.id)")
    ]


def test_timeline_fills_live_and_pause_resume_catches_up_without_duplicates(console):
    job = make_job(console.tenant, status=JobStatus.RUNNING, started_at=timezone.now())
    first = job_timeline.append(job, "log", {"line": "line 1"})
    page = open_page(console, url("job", console.tenant, job=job.uid))
    expect(page.locator("#live-label")).to_have_text("LIVE")
    made = [first]
    for n in (2, 3):
        made.append(job_timeline.append(job, "log", {"line": f"line {n}"}))
    expect(page.locator("#timeline li").first).to_contain_text("line 3")
    assert timeline_ids(page) == [e.pk for e in reversed(made)]

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/events" in r.url else None)
    page.click("#timeline-toggle")
    expect(page.locator("#timeline-toggle")).to_have_text("Resume")
    expect(page.locator("#live-label")).to_have_text("PAUSED")
    page.wait_for_timeout(REFRESH_MS * 2)  # a request in flight when pausing may still land
    requests.clear()
    for n in range(4, 9):
        made.append(job_timeline.append(job, "log", {"line": f"line {n}"}))
    page.wait_for_timeout(REFRESH_MS * 4)
    assert requests == []
    assert page.locator("#timeline li").count() == 3

    page.click("#timeline-toggle")
    expect(page.locator("#live-label")).to_have_text("LIVE")
    expect(page.locator("#timeline li")).to_have_count(len(made))
    ids = timeline_ids(page)
    assert ids == [e.pk for e in reversed(made)] and len(set(ids)) == len(ids)

    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, outcome=Outcome.SUCCESS, finished_at=timezone.now()
    )
    job_timeline.append(job, "final", {"outcome": "SUCCESS", "exit_code": 0, "reason": "ok"})
    expect(page.locator("#job-status")).to_have_text("DONE")
    expect(page.locator("#job-outcome")).to_have_class("badge ok")
    expect(page.locator("#live-label")).to_be_hidden()
    expect(page.locator("#timeline li").first).to_contain_text("outcome SUCCESS")
    assert len(set(timeline_ids(page))) == len(made) + 1


def test_hostile_output_renders_inert(console):
    job = make_job(console.tenant, status=JobStatus.RUNNING, agent="<i>agent</i>")
    add_event(job, "log", {"line": HOSTILE})  # rendered by the server
    page = open_page(console, url("job", console.tenant, job=job.uid))
    hostile_live = [
        "<img src=x onerror=\"document.title='pwned'\">",
        "<script>alert(3)</script>",
        ANSI,
        "<svg onload=alert(4)>",
        "\u202eevil",
    ]
    for line in hostile_live:  # rendered by the page script
        job_timeline.append(job, "log", {"line": line})
    expect(page.locator("#timeline li")).to_have_count(1 + len(hostile_live))
    timeline = page.locator("#timeline")
    assert timeline.locator("img, script, svg, i").count() == 0
    assert page.locator("h1 i").count() == 0
    text = timeline.inner_text()
    assert HOSTILE in text and "<script>alert(3)</script>" in text
    assert "\u241b[31mred\u241b[0m" in text and "\x1b" not in text
    assert "\u202e" not in text
    page.wait_for_timeout(REFRESH_MS * 2)
    assert page.title() != "pwned"
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_cancel_a_pending_job(console):
    job = make_job(console.tenant, status=JobStatus.PENDING)
    page = open_page(console, url("job", console.tenant, job=job.uid))
    page.click("#cancel-job")
    expect(page.locator("#job-status")).to_have_text("CANCELED")
    expect(page.locator("#job-outcome")).to_have_text("CANCELED")
    expect(page.locator(".message.success")).to_contain_text("Cancel requested")
    expect(page.locator("#cancel-job")).to_have_count(0)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED


def test_cancel_a_running_job_then_the_worker_finishes_it(console):
    job = make_job(console.tenant, status=JobStatus.RUNNING, worker="elsewhere:1")
    page = open_page(console, url("job", console.tenant, job=job.uid))
    page.click("#cancel-job")
    expect(page.locator('#job-state [data-field="cancel_requested"]')).to_be_visible()
    job.refresh_from_db()
    assert job.cancel_requested_at is not None
    # What the worker does on the request (jobs.services.lifecycle): FINISHING, then CANCELED.
    job_timeline.append(job, "status", {"from": "RUNNING", "to": "FINISHING", "reason": "x"})
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.CANCELED, outcome=Outcome.CANCELED, finished_at=timezone.now()
    )
    expect(page.locator("#job-status")).to_have_text("CANCELED")
    expect(page.locator("#cancel-form")).to_be_hidden()
    expect(page.locator('#job-state [data-field="cancel_requested"]')).to_be_hidden()


def test_the_config_editor_works_under_the_csp(console, request):
    request.addfinalizer(forget_validated_configs)
    ConfigVersion.objects.create(tenant=console.tenant, version=1, text="version: 1\n")
    page = open_page(console, url("config", console.tenant))
    expect(page.locator(".cm-editor")).to_be_visible()
    page.locator(".cm-content").click()
    page.keyboard.type("# hello\n")
    expect(page.locator(".cm-content")).to_contain_text("# hello")
    response = page.request.get(console.base + url("config", console.tenant))
    assert re.search(r"script-src 'self'", response.headers["content-security-policy"])


def test_the_deliveries_page_loads_without_errors(console):
    page = open_page(console, url("deliveries", console.tenant))
    expect(page.locator("h1")).to_have_text("Deliveries")
