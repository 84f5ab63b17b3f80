"""Every tenant console endpoint: anonymous → sign in, other tenant → 404, too low a role → 403."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import Bot, Membership, Role

pytestmark = pytest.mark.django_db

# (method, url name, extra url argument, lowest role allowed)
ENDPOINTS = [
    ("get", "overview", None, Role.VIEWER),
    ("get", "bots", None, Role.VIEWER),
    ("post", "bot_add", None, Role.OPERATOR),
    ("post", "bot_replace", "bot", Role.OPERATOR),
    ("post", "bot_default", "bot", Role.OPERATOR),
    ("get", "bot_remove", "bot", Role.OPERATOR),
    ("post", "bot_remove", "bot", Role.OPERATOR),
    ("get", "settings", None, Role.VIEWER),
    ("post", "settings_general", None, Role.OPERATOR),
    ("post", "settings_llm", None, Role.OWNER),
    ("get", "webhook_rotate", None, Role.OWNER),
    ("post", "webhook_rotate", None, Role.OWNER),
    ("get", "signing_rotate", None, Role.OWNER),
    ("post", "signing_rotate", None, Role.OWNER),
    ("get", "signing_clear", None, Role.OWNER),
    ("post", "signing_clear", None, Role.OWNER),
    ("post", "member_add", None, Role.OWNER),
    ("post", "member_role", "member", Role.OWNER),
    ("get", "member_remove", "member", Role.OWNER),
    ("post", "member_remove", "member", Role.OWNER),
    ("get", "config", None, Role.VIEWER),
    ("post", "config", None, Role.OPERATOR),
    ("post", "config_validate", None, Role.VIEWER),
    ("get", "config_history", None, Role.VIEWER),
    ("get", "config_version", "version", Role.VIEWER),
]
IDS = [f"{method.upper()} {name}" for method, name, _, _ in ENDPOINTS]
LOWER_ROLES = {Role.OPERATOR: [Role.VIEWER], Role.OWNER: [Role.VIEWER, Role.OPERATOR]}


def url_for(name, extra, tenant, bot=None, membership=None, version=1):
    kwargs = {"tenant": tenant.uid}
    if extra == "bot":
        kwargs["bot"] = bot.uid
    elif extra == "member":
        kwargs["member"] = membership.pk
    elif extra == "version":
        kwargs["version"] = version
    return reverse(f"console:{name}", kwargs=kwargs)


def own_url(world, name, extra):
    target = Membership.objects.get(user=world.viewer, tenant=world.tenant)
    return url_for(name, extra, world.tenant, world.bot, target)


def call(client, method, url):
    if method == "post" and url.endswith("/validate"):
        return client.post(url, data='{"text": "version: 1"}', content_type="application/json")
    return getattr(client, method)(url)


def snapshot(world):
    """What any of these endpoints could change, to prove a refused request changed nothing."""
    tenants = [world.tenant, world.other]
    return (
        [tuple(t.__class__.objects.filter(pk=t.pk).values_list()) for t in tenants],
        sorted(Bot.objects.values_list("uid", "token_ciphertext")),
        sorted(Membership.objects.values_list("pk", "role")),
        world.tenant.config_versions.count(),
    )


@pytest.mark.parametrize(("method", "name", "extra", "role"), ENDPOINTS, ids=IDS)
def test_anonymous_is_sent_to_sign_in(client, world, method, name, extra, role):
    url = own_url(world, name, extra)
    response = call(client, method, url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize(("method", "name", "extra", "role"), ENDPOINTS, ids=IDS)
def test_another_tenants_uuid_is_404(as_user, world, method, name, extra, role):
    other_member = Membership.objects.get(user=world.other_owner, tenant=world.other)
    url = url_for(name, extra, world.other, world.other_bot, other_member)
    before = snapshot(world)
    response = call(as_user(world.owner), method, url)
    assert response.status_code == 404
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("method", "name", "extra", "role"),
    [e for e in ENDPOINTS if e[2] in ("bot", "member")],
    ids=[i for i, e in zip(IDS, ENDPOINTS, strict=True) if e[2] in ("bot", "member")],
)
def test_another_tenants_object_under_my_tenant_is_404(as_user, world, method, name, extra, role):
    other_member = Membership.objects.get(user=world.other_owner, tenant=world.other)
    url = url_for(name, extra, world.tenant, world.other_bot, other_member)
    before = snapshot(world)
    response = call(as_user(world.owner), method, url)
    assert response.status_code == 404
    assert snapshot(world) == before


def test_unknown_version_is_404(as_user, world):
    url = url_for("config_version", "version", world.tenant, version=99)
    assert as_user(world.viewer).get(url).status_code == 404


WRONG_ROLE = [(*e, low) for e in ENDPOINTS for low in LOWER_ROLES.get(e[3], [])]


@pytest.mark.parametrize(
    ("method", "name", "extra", "role", "low"),
    WRONG_ROLE,
    ids=[f"{m.upper()} {n} as {low}" for m, n, _, _, low in WRONG_ROLE],
)
def test_too_low_a_role_is_403(as_user, world, method, name, extra, role, low):
    user = {Role.VIEWER: world.viewer, Role.OPERATOR: world.operator}[low]
    before = snapshot(world)
    response = call(as_user(user), method, own_url(world, name, extra))
    assert response.status_code == 403
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "name", ["bot_remove", "webhook_rotate", "signing_rotate", "signing_clear", "member_remove"]
)
def test_get_only_asks_for_confirmation(as_user, world, name):
    extra = {"bot_remove": "bot", "member_remove": "member"}.get(name)
    before = snapshot(world)
    response = as_user(world.owner).get(own_url(world, name, extra))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "name",
    [
        "bot_add",
        "bot_replace",
        "bot_default",
        "settings_general",
        "settings_llm",
        "member_add",
        "member_role",
        "config_validate",
    ],
)
def test_actions_refuse_get(as_user, world, name):
    extra = {"bot_replace": "bot", "bot_default": "bot", "member_role": "member"}.get(name)
    assert as_user(world.owner).get(own_url(world, name, extra)).status_code == 405


def test_state_changes_need_the_csrf_token(world):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.owner)
    before = snapshot(world)
    for name, extra in [("bot_remove", "bot"), ("webhook_rotate", None), ("config", None)]:
        assert strict.post(own_url(world, name, extra)).status_code == 403
    response = strict.post(
        own_url(world, "config_validate", None),
        data='{"text": ""}',
        content_type="application/json",
    )
    assert response.status_code == 403
    assert snapshot(world) == before


def test_create_tenant_needs_sign_in(client):
    response = client.post(reverse("console:tenant_create"), {"name": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
