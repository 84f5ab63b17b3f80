"""Tenant list, tenant creation (webhook secret shown once) and the overview checklist."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tenants.models import Membership, Role, Tenant
from tests.tenants.factories import TenantFactory, UserFactory, member

pytestmark = pytest.mark.django_db

HOME = "/"
CREATE = "/tenants/new"


def overview_url(tenant):
    return reverse("console:overview", kwargs={"tenant": tenant.uid})


def tenant_pages(tenant):
    """Every GET page of a tenant a member can open."""
    names = ["overview", "bots", "settings", "config", "config_history"]
    urls = [reverse(f"console:{n}", kwargs={"tenant": tenant.uid}) for n in names]
    for version in tenant.config_versions.values_list("version", flat=True):
        urls.append(
            reverse("console:config_version", kwargs={"tenant": tenant.uid, "version": version})
        )
    return [HOME, *urls]


def test_urls_are_stable():
    assert reverse("console:home") == HOME
    assert reverse("console:tenant_create") == CREATE


def test_home_lists_only_my_tenants_with_role_and_suspended_badge(as_user, world):
    world.tenant.suspended_at = timezone.now()
    world.tenant.save()
    second = TenantFactory(name="Beta Works")
    member(second, Role.VIEWER, user=world.operator)
    response = as_user(world.operator).get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme" in html and "Beta Works" in html
    assert "Other Corp" not in html
    assert "Operator" in html and "Viewer" in html
    assert 'class="badge bad">suspended' in html
    assert overview_url(world.tenant) in html
    assert 'action="/tenants/new"' in html


def test_home_without_tenants_invites_to_create_one(as_user, db):
    response = as_user(UserFactory()).get(HOME)
    assert response.status_code == 200
    assert b"do not belong to any tenant yet" in response.content


def test_create_shows_the_webhook_secret_exactly_once(as_user, db, monkeypatch):
    from tenants import services

    created = {}
    real = services.create_tenant

    def spy(**kwargs):
        tenant, secret = real(**kwargs)
        created["secret"] = secret
        return tenant, secret

    monkeypatch.setattr(services, "create_tenant", spy)
    user = UserFactory()
    client = as_user(user)
    response = client.post(
        CREATE, {"name": "Gamma", "gitlab_url": "https://gitlab.gamma.example", "plan": "plus"}
    )
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    secret = created["secret"]
    assert response.content.decode().count(secret) == 1
    tenant = Tenant.objects.get(name="Gamma")
    assert tenant.plan == "plus" and tenant.gitlab_url == "https://gitlab.gamma.example"
    assert Membership.objects.get(tenant=tenant, user=user).role == Role.OWNER
    assert f"/hook/{tenant.uid}" in response.content.decode()
    assert "Merge request events" in response.content.decode()
    # Never again: not on a GET of the same URL, not on any page of the tenant, not in the session.
    again = client.get(CREATE, follow=True)
    assert secret not in again.content.decode()
    for url in tenant_pages(tenant):
        page = client.get(url)
        assert page.status_code == 200, url
        assert secret not in page.content.decode(), url
    assert secret not in str(dict(client.session))


def test_create_with_bad_input_rerenders_the_form_with_the_error(as_user, db):
    client = as_user(UserFactory())
    response = client.post(CREATE, {"name": "Delta", "gitlab_url": "ftp://x", "plan": "starter"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "GitLab URL must start with https://" in html
    assert 'value="Delta"' in html
    assert not Tenant.objects.filter(name="Delta").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x" * 81, "gitlab_url": "https://g.example", "plan": "starter"}, "1 to 80"),
        ({"name": "", "gitlab_url": "https://g.example", "plan": "starter"}, "required"),
        ({"name": "Ok", "gitlab_url": "https://g.example", "plan": "gold"}, "valid choice"),
        ({"name": "Ok", "gitlab_url": "https://u:p@g.example", "plan": "starter"}, "credentials"),
    ],
)
def test_create_refuses_bad_fields(as_user, db, data, message):
    response = as_user(UserFactory()).post(CREATE, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Tenant.objects.count() == 0


def test_overview_checklist_for_a_new_tenant(as_user, db, settings):
    settings.MATE_PUBLIC_URL = "https://mate.example.org/"
    tenant = TenantFactory(name="Fresh")
    user = member(tenant, Role.VIEWER)
    response = as_user(user).get(overview_url(tenant))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"https://mate.example.org/hook/{tenant.uid}" in html
    for box in ["Issues events", "Merge request events", "Comments", "Pipeline events"]:
        assert box in html
    assert "Confidential issues events" in html
    assert "Add a bot" in html
    assert "Start from the template" in html
    assert "none yet" in html  # first delivery
    assert "not set" in html  # LLM key
    assert f"secret set on {tenant.webhook_secret_set_at:%Y-%m-%d}" in html
    assert "Rotate it" not in html  # viewers cannot rotate


def test_overview_checklist_when_set_up(as_user, world):
    tenant = world.tenant
    tenant.first_delivery_at = timezone.now()
    tenant.set_secret("llm_key", "sk-or-" + "k" * 30)
    tenant.llm_provider = "openrouter"
    tenant.save()
    response = as_user(world.owner).get(overview_url(tenant))
    html = response.content.decode()
    assert "@mate-bot" in html
    assert "version 1" in html and "by olivia" in html
    assert "OpenRouter key set on" in html
    assert f"{tenant.first_delivery_at:%Y-%m-%d}" in html
    assert "Rotate it" in html
    assert "k" * 30 not in html


def test_suspended_tenant_shows_a_banner_on_every_page(as_user, world):
    world.tenant.suspended_at = timezone.now()
    world.tenant.save()
    client = as_user(world.viewer)
    for url in tenant_pages(world.tenant)[1:]:
        assert b"is suspended" in client.get(url).content, url


def test_tenant_nav_and_switcher(as_user, world):
    second = TenantFactory(name="Beta Works")
    member(second, Role.VIEWER, user=world.owner)
    html = as_user(world.owner).get(overview_url(world.tenant)).content.decode()
    for name in ["config", "bots", "settings"]:
        assert reverse(f"console:{name}", kwargs={"tenant": world.tenant.uid}) in html
    assert overview_url(second) in html  # switcher
    assert overview_url(world.other) not in html
    assert 'aria-current="page">Overview' in html
