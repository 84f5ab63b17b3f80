"""T20: cross-tenant reads and writes in the console, generated from the URL configuration.

Every route of the site (``get_resolver()``, walked through includes and namespaces) is either
tenant-scoped (``<uuid:tenant>`` plus known object ids) or on an explicit allow-list of routes
that take no tenant id. A new route that is neither fails ``test_every_route_is_classified``.

For each tenant-scoped route, the owner of tenant A asks with tenant B's id (and B's objects),
and with A's own id but B's objects (and B's id with A's objects), by GET and by POST (the test
client does not enforce CSRF, so a refusal is the view's own): every answer is 404, or 405 when
the view does not take that method at all (the same 405 answers for one's own objects, so it
says nothing about the ids), nothing changes in the database, and no page shows B's data.

Admin: support staff see every tenant by design (SPEC §1); what admin must never show is a
secret (tests/tenants/test_admin.py::test_no_admin_page_renders_a_secret_or_ciphertext and
tests/jobs/test_admin.py::test_every_page_renders_without_secrets). Here: operators who are
not staff reach no admin page, generated from the admin registry.
Tool API: tests/threats/test_t20_tool_api.py.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from jobs.models import (
    Delivery,
    DeliveryEvent,
    EventIdentity,
    Job,
    JobEvent,
    JobStatus,
    JobToken,
    Resolution,
)
from tenants.models import Bot, ConfigVersion, Membership, Role, Tenant
from tests.tenants.factories import ConfigVersionFactory, TenantFactory, make_bot, make_default
from tests.tenants.factories import member as add_member
from toolservice.models import CreatedByJob, ToolCall

pytestmark = pytest.mark.django_db

# A canary in every name of tenant B (tenant, owner, bot, project, agent, log lines): it must
# never appear in an answer to tenant A's owner.
CANARY = "zq7canary"

# --- The route table ----------------------------------------------------------------------------

_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>|\(\?P<(?P<group>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, e.g. "t/<uuid:tenant>/bots/<uuid:bot>/replace"
    name: str | None  # namespaced, e.g. "console:bot_replace"
    params: tuple[str, ...]


def walk(patterns, prefix: str = "", namespace: tuple[str, ...] = ()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = (*namespace, pattern.namespace) if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            params = tuple(m["name"] or m["group"] for m in _PARAM.finditer(route))
            name = ":".join((*namespace, pattern.name)) if pattern.name else None
            yield Route(route, name, params)


def site_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


# Routes that take no tenant id, each with the reason it needs none and where it is tested.
NO_TENANT_ID = {
    "healthz": "liveness, no data (tests/mate/test_health.py)",
    "metrics": "aggregate counters, no tenant data (tests/jobs/test_metrics.py)",
    "login/": "sign-in (tests/threats/test_t22_login_limits.py)",
    "logout/": "sign-out (tests/threats/test_t23_sessions.py)",
    "": "the user's own tenants only (test_home_lists_only_my_tenants below)",
    "tenants/new": "creates a tenant owned by the user (tests/tenants/test_views_tenants.py)",
    "hook/<str:tenant_id>": "webhook: the tenant's secret authenticates, not a session (T1)",
    "tools/": "tool API: the job credential selects the tenant (test_t20_tool_api.py)",
    "tools/schema": "OpenAPI schema, no data",
    "tools/_clone-done": "tool API runtime call: the credential selects the job",
    "tools/_usage": "tool API runtime call: the credential selects the job",
    "tools/<str:name>": "tool API: the job credential selects the tenant (test_t20_tool_api.py)",
    "mcp": "tool API over MCP: the job credential selects the tenant (test_t20_tool_api.py)",
}
ADMIN_PREFIX = "admin/"  # staff only: see test_admin_is_closed_to_operators


@dataclass
class Side:
    """One tenant and one object of every tenant-owned kind."""

    tenant: Tenant
    owner: object
    bot: Bot
    version: ConfigVersion
    membership: Membership
    job: Job
    delivery: Delivery


# URL parameter name → how to read that object's id from a Side. A route with a parameter not
# listed here fails test_every_route_is_classified until it is added (and seeded).
OBJECT_PARAMS = {
    "bot": lambda side: side.bot.uid,
    "job": lambda side: side.job.uid,
    "delivery": lambda side: side.delivery.uid,
    "version": lambda side: side.version.version,
    "member": lambda side: side.membership.pk,
}


def classify(route: Route) -> str:
    """'tenant', 'open' (allow-listed), 'admin', or why the route cannot be classified."""
    if route.route.startswith(ADMIN_PREFIX):
        return "admin"
    if route.route in NO_TENANT_ID:
        return "open"
    if "tenant" not in route.params:
        return "takes no tenant id and is not on the NO_TENANT_ID allow-list"
    if not route.route.startswith("t/<uuid:tenant>/"):
        return "the tenant id is not the leading t/<uuid:tenant>/ segment"
    unknown = [p for p in route.params if p != "tenant" and p not in OBJECT_PARAMS]
    if unknown:
        return f"unknown URL parameter(s) {unknown}: map them in OBJECT_PARAMS and seed them"
    if route.name is None:
        return "has no URL name (the sweep reverses names)"
    return "tenant"


TENANT_ROUTES = [r for r in site_routes() if classify(r) == "tenant"]


def test_every_route_is_classified():
    problems = [
        f"{r.route!r} ({r.name}): {verdict}"
        for r in site_routes()
        if (verdict := classify(r)) not in ("tenant", "open", "admin")
    ]
    assert not problems, "routes the isolation sweep cannot classify:\n" + "\n".join(problems)


def test_the_sweep_sees_the_console():
    names = {r.name for r in TENANT_ROUTES}
    # A smoke check that walking the resolver works; the sweep itself is generated.
    assert {"console:bot_replace", "console:member_role", "console:config_version"} <= names
    assert {"console:job", "console:delivery"} <= names


def test_tool_service_is_mounted_on_the_site():
    """SPEC §7.1: /tools/ and /mcp are part of the site (the sweep allow-lists them)."""
    routes = {r.route for r in site_routes()}
    assert {"tools/", "tools/<str:name>", "mcp"} <= routes


# --- The world: two tenants with objects of every tenant-owned kind -----------------------------


def _seed(tenant: Tenant, owner, tag: str, versions: int) -> Side:
    bot = make_default(make_bot(tenant, f"{tag}-bot", token=f"glpat-{tag}-{uuid.uuid4().hex[:12]}"))
    for n in range(1, versions + 1):
        version = ConfigVersionFactory(tenant=tenant, version=n, author=owner)
    viewer = add_member(tenant, Role.VIEWER, username=f"{tag}-viewer")
    delivery = Delivery.objects.create(
        tenant=tenant,
        hook="Issue Hook",
        idempotency_key=f"{tag}-key",
        headers={"X-Gitlab-Event": "Issue Hook"},
        body={"object_kind": "issue", "project": {"path_with_namespace": f"{tag}/secret"}},
    )
    job = Job.objects.create(
        tenant=tenant,
        delivery=delivery,
        event_key=f"{tag}:1",
        event="issue_assigned",
        bot_username=bot.username,
        agent=f"{tag}-agent",
        trigger="tenant[0]",
        project_id=4242,
        project_path=f"{tag}/secret",
        object_kind="issue",
        object_iid=7,
        loop_key="issue/7",
        status=JobStatus.RUNNING,
        snapshot={"authorities": ["read"], "object": {"kind": "issue", "iid": 7}},
    )
    DeliveryEvent.objects.create(
        delivery=delivery,
        tenant=tenant,
        position=0,
        event="issue_assigned",
        bot=bot.username,
        resolution=Resolution.DISPATCHED,
        reason=f"job for {tag}",
        job=job,
    )
    JobEvent.objects.create(job=job, kind="log", data={"line": f"{tag} log line"})
    EventIdentity.objects.create(
        tenant=tenant, key=f"{tag}-event", delivery=delivery, seen_at=timezone.now()
    )
    token = JobToken(job=job, kind=JobToken.Kind.GITLAB_KEY, scopes=["api"])
    token.set_secret("value", f"glpat-{tag}-jobkey")
    token.save()
    ToolCall.objects.create(
        job=job, tenant=tenant, tool="get_issue", transport="rest", outcome="ok"
    )
    CreatedByJob.objects.create(job=job, tenant=tenant, kind="branch", branch=f"mate/{tag}")
    membership = Membership.objects.get(tenant=tenant, user=viewer)
    return Side(tenant, owner, bot, version, membership, job, delivery)


@dataclass
class Sweep:
    mine: Side
    theirs: Side
    client: Client = field(default_factory=Client)


@pytest.fixture
def sweep(settings) -> Sweep:
    # Nothing a view might ask GitLab may leave the machine: a closed local port.
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    a = TenantFactory(name="Acme", gitlab_url="http://127.0.0.1:9")
    olivia = add_member(a, Role.OWNER, username="olivia")
    b = TenantFactory(name=f"Other {CANARY}", gitlab_url="http://127.0.0.1:9")
    mallory = add_member(b, Role.OWNER, username=f"mallory-{CANARY}")
    mine = _seed(a, olivia, "acme", versions=1)
    # B's config version number does not exist in A: version ids are per tenant.
    theirs = _seed(b, mallory, CANARY, versions=3)
    client = Client()
    client.force_login(olivia)
    return Sweep(mine, theirs, client)


def tenant_owned_models() -> list[type[models.Model]]:
    """Every model with a foreign key to Tenant: each must be seeded for both tenants."""
    return [
        m
        for m in apps.get_models()
        if any(
            isinstance(f, models.ForeignKey) and f.related_model is Tenant
            for f in m._meta.get_fields()
        )
    ]


def test_every_tenant_owned_kind_is_seeded_for_both_tenants(sweep):
    for model in tenant_owned_models():
        for side in (sweep.mine, sweep.theirs):
            assert model._default_manager.filter(tenant=side.tenant).exists(), (
                f"seed a {model.__name__} for {side.tenant.name} in _seed()"
            )


def snapshot() -> dict:
    """Every row of every Mate model and user: what a refused request must leave unchanged."""
    labels = ("tenants", "jobs", "toolservice")
    tracked = [m for m in apps.get_models() if m._meta.app_label in labels]
    tracked.append(get_user_model())
    return {m.__name__: list(m._default_manager.order_by("pk").values_list()) for m in tracked}


def url(route: Route, tenant: Side, objects: Side) -> str:
    kwargs = {"tenant": tenant.tenant.uid}
    kwargs |= {p: OBJECT_PARAMS[p](objects) for p in route.params if p != "tenant"}
    return reverse(route.name, kwargs=kwargs)


def leaks(response) -> bool:
    return CANARY.encode() in response.content


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=[r.name for r in TENANT_ROUTES])
def test_other_tenants_ids_are_404_for_every_console_route(sweep, route):
    mine, theirs = sweep.mine, sweep.theirs
    cases = {"their tenant": (theirs, theirs)}
    if len(route.params) > 1:
        cases["my tenant, their object"] = (mine, theirs)
        cases["their tenant, my object"] = (theirs, mine)
    problems, refused_by_method = [], set()
    for case, (tenant, objects) in cases.items():
        target = url(route, tenant, objects)
        statuses = {}
        for method in ("get", "post"):
            before = snapshot()
            response = getattr(sweep.client, method)(target)
            statuses[method] = response.status_code
            where = f"{method.upper()} {target} ({case})"
            if response.status_code not in (404, 405):
                problems.append(f"{where} answered {response.status_code}")
            if response.status_code == 405:
                refused_by_method.add(method)
            if leaks(response):
                problems.append(f"{where} shows the other tenant's data")
            if snapshot() != before:
                problems.append(f"{where} changed the database")
        if 404 not in statuses.values():
            problems.append(f"{target} ({case}): no method answered 404: {statuses}")
    # A 405 must not depend on the ids: the same method on my own objects is refused too.
    own = url(route, mine, mine)
    for method in sorted(refused_by_method):
        status = getattr(sweep.client, method)(own).status_code
        if status != 405:
            problems.append(f"{method.upper()} answered 405 for foreign ids but {status} for mine")
    # And the URL was built right: my own tenant's page exists for GET (or refuses the method).
    own_get = sweep.client.get(own).status_code
    if own_get not in (200, 302, 405):
        problems.append(f"GET {own} (my own objects) answered {own_get}; is the URL built right?")
    assert not problems, "\n".join(problems)


def test_home_lists_only_my_tenants(sweep):
    response = sweep.client.get(reverse("console:home"))
    assert response.status_code == 200
    assert b"Acme" in response.content
    assert not leaks(response)


def test_a_user_of_no_tenant_gets_404_everywhere(sweep):
    """A signed-in user with no membership at all (e.g. removed from the tenant)."""
    loner = Client()
    loner.force_login(get_user_model().objects.create_user("loner"))
    problems = []
    for route in TENANT_ROUTES:
        target = url(route, sweep.mine, sweep.mine)
        status = loner.get(target).status_code
        if status not in (404, 405):
            problems.append(f"GET {target}: {status}")
    assert not problems


# --- Admin: staff only ---------------------------------------------------------------------------


def admin_targets(row_of) -> tuple[list[str], list[Route]]:
    """A URL for every named admin route of the resolver, ids filled from the admin registry
    (``row_of(model)`` picks the row); and the admin routes it could not fill."""
    registered = {f"{m._meta.app_label}_{m._meta.model_name}": m for m in admin.site._registry}
    labels = sorted({m._meta.app_label for m in registered.values()})
    targets, unfilled = [], []
    for route in site_routes():
        if not route.route.startswith(ADMIN_PREFIX) or route.name in (None, "admin:logout"):
            continue  # the unnamed catch-all only redirects; sign-out would end the session
        params, view = set(route.params), route.name.split(":", 1)[1]
        if not params:
            targets.append(reverse(route.name))
        elif params == {"app_label"}:
            targets += [reverse(route.name, kwargs={"app_label": label}) for label in labels]
        elif params == {"content_type_id", "object_id"}:  # "view on site"
            for model in registered.values():
                if (row := row_of(model)) is not None:
                    kind = ContentType.objects.get_for_model(model).pk
                    kwargs = {"content_type_id": kind, "object_id": row.pk}
                    targets.append(reverse(route.name, kwargs=kwargs))
        elif len(params) == 1 and params <= {"object_id", "id"}:
            keys = [k for k in registered if view.startswith(f"{k}_")]
            model = registered[max(keys, key=len)] if keys else None
            if model is None:
                unfilled.append(route)
            elif (row := row_of(model)) is not None:
                targets.append(reverse(route.name, kwargs={params.pop(): row.pk}))
        else:
            unfilled.append(route)
    return sorted(set(targets)), unfilled


def test_admin_is_closed_to_operators(sweep):
    """An owner of a tenant who is not staff reaches no admin page, for any object of tenant B:
    every named admin route, generated from the resolver and the admin registry."""

    def theirs(model):
        if model is Tenant:
            return sweep.theirs.tenant
        rows = model._default_manager.order_by("-pk")
        if any(f.name == "tenant" for f in model._meta.get_fields()):
            rows = rows.filter(tenant=sweep.theirs.tenant)
        return rows.first()

    targets, unfilled = admin_targets(theirs)
    assert not unfilled, f"admin routes the sweep cannot fill: {[r.route for r in unfilled]}"
    assert len(targets) > 5 * len(admin.site._registry)
    login = reverse("admin:login")
    before = snapshot()
    problems = []
    for target in targets:
        for method in ("get", "post"):
            response = getattr(sweep.client, method)(target)
            if target.startswith(login) and response.status_code == 200:
                assert not leaks(response)
                continue  # the admin sign-in page itself
            if response.status_code != 302 or not response["Location"].startswith(login):
                problems.append(f"{method.upper()} {target}: {response.status_code}")
            assert not leaks(response)
    assert not problems, "\n".join(problems)
    assert snapshot() == before
