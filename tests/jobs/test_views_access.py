"""Every jobs-console endpoint (HTML and JSON): anonymous → sign in; another tenant, or another
tenant's job or delivery under one's own tenant → 404; too low a role → 403 (T20, T21)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import Delivery, DeliveryEvent, Job, JobEvent
from tenants.models import Role
from tests.jobs.console_world import add_event, build_world, make_delivery, make_job, url

pytestmark = pytest.mark.django_db

# (method, url name, object kind, lowest role allowed)
ENDPOINTS = [
    ("get", "jobs", None, Role.VIEWER),
    ("get", "job_rows", None, Role.VIEWER),
    ("get", "job", "job", Role.VIEWER),
    ("get", "job_events", "job", Role.VIEWER),
    ("post", "job_cancel", "job", Role.OPERATOR),
    ("get", "deliveries", None, Role.VIEWER),
    ("get", "delivery", "delivery", Role.VIEWER),
    ("post", "delivery_explain", "delivery", Role.OPERATOR),
]
IDS = [f"{m.upper()} {n}" for m, n, _, _ in ENDPOINTS]


@pytest.fixture
def cw(db):
    world = build_world()
    world.job = make_job(world.tenant)
    add_event(world.job)
    world.delivery = make_delivery(world.tenant)
    world.other_job = make_job(world.other)
    add_event(world.other_job)
    world.other_delivery = make_delivery(world.other)
    # The delivery yields no event (no bot in its body), so explain never asks GitLab.
    return world


def endpoint(name, kind, tenant, job, delivery):
    kwargs = {"job": job.uid} if kind == "job" else {}
    if kind == "delivery":
        kwargs = {"delivery": delivery.uid}
    return url(name, tenant, **kwargs)


def snapshot():
    return (
        sorted(Job.objects.values_list("pk", "status", "cancel_requested_at")),
        JobEvent.objects.count(),
        Delivery.objects.count(),
        DeliveryEvent.objects.count(),
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("method", "name", "kind", "role"), ENDPOINTS, ids=IDS)
def test_anonymous_is_sent_to_sign_in(client, cw, method, name, kind, role):
    before = snapshot()
    response = getattr(client, method)(endpoint(name, kind, cw.tenant, cw.job, cw.delivery))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert snapshot() == before


@pytest.mark.parametrize(("method", "name", "kind", "role"), ENDPOINTS, ids=IDS)
def test_another_tenant_is_404(cw, method, name, kind, role):
    before = snapshot()
    target = endpoint(name, kind, cw.other, cw.other_job, cw.other_delivery)
    assert getattr(signed_in(cw.owner), method)(target).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "name", "kind", "role"),
    [e for e in ENDPOINTS if e[2]],
    ids=[i for i, e in zip(IDS, ENDPOINTS, strict=True) if e[2]],
)
def test_another_tenants_object_under_my_tenant_is_404(cw, method, name, kind, role):
    before = snapshot()
    target = endpoint(name, kind, cw.tenant, cw.other_job, cw.other_delivery)
    assert getattr(signed_in(cw.owner), method)(target).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("method", "name", "kind", "role"), ENDPOINTS, ids=IDS)
def test_members_with_the_role_succeed(cw, method, name, kind, role):
    user = {Role.VIEWER: cw.viewer, Role.OPERATOR: cw.operator}[role]
    response = getattr(signed_in(user), method)(
        endpoint(name, kind, cw.tenant, cw.job, cw.delivery)
    )
    assert response.status_code in (200, 302)


def test_viewer_cannot_cancel(cw):
    before = snapshot()
    target = endpoint("job_cancel", "job", cw.tenant, cw.job, cw.delivery)
    assert signed_in(cw.viewer).post(target).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("method", "name", "kind", "role"), ENDPOINTS, ids=IDS)
def test_no_state_change_on_get_and_no_post_on_pages(cw, method, name, kind, role):
    client = signed_in(cw.owner)
    target = endpoint(name, kind, cw.tenant, cw.job, cw.delivery)
    before = snapshot()
    other = "get" if method == "post" else "post"
    assert getattr(client, other)(target).status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "kind", "params"),
    [
        ("jobs", None, {"status": "nope"}),
        ("job_rows", None, {"ids": "nope"}),
        ("job_events", "job", {"after": "-3"}),
        ("deliveries", None, {"date": "yesterday"}),
    ],
)
def test_bad_input_is_400(cw, name, kind, params):
    target = endpoint(name, kind, cw.tenant, cw.job, cw.delivery)
    assert signed_in(cw.viewer).get(target, params).status_code == 400


def test_json_endpoints_answer_json(cw):
    client = signed_in(cw.viewer)
    for name, kind in (("job_rows", None), ("job_events", "job")):
        response = client.get(endpoint(name, kind, cw.tenant, cw.job, cw.delivery))
        assert response["Content-Type"] == "application/json"


def test_nav_links_to_jobs_and_deliveries(cw):
    html = signed_in(cw.viewer).get(reverse("console:overview", args=[cw.tenant.uid])).content
    assert url("jobs", cw.tenant).encode() in html
    assert url("deliveries", cw.tenant).encode() in html
    html = signed_in(cw.viewer).get(url("jobs", cw.tenant)).content.decode()
    assert f'<a href="{url("jobs", cw.tenant)}" class="active" aria-current="page">Jobs</a>' in html


def test_every_console_page_has_the_csp(cw):
    from mate.csp import POLICY

    client = signed_in(cw.owner)
    pages = [
        reverse("console:home"),
        reverse("console:overview", args=[cw.tenant.uid]),
        reverse("console:config", args=[cw.tenant.uid]),
        url("jobs", cw.tenant),
        url("deliveries", cw.tenant),
    ]
    for page in pages:
        assert client.get(page)["Content-Security-Policy"] == POLICY, page
    assert Client().get(reverse("login"))["Content-Security-Policy"] == POLICY


def test_no_console_template_has_inline_script_or_handlers():
    """script-src 'self' would block them; keep every script a static file."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            assert "src=" in match.group(), f"inline script in {path}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {path}"
        assert "javascript:" not in text, path
