"""T24: support staff see tenants, memberships, bots and configs, never a secret or ciphertext."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tenants.models import Bot, ConfigVersion, Membership, Tenant
from tests.tenants.factories import TenantFactory, make_bot, member

pytestmark = pytest.mark.django_db

CANARIES = {
    "pat": "glpat-ADMINcanary0123456789",
    "llm": "sk-ant-ADMINcanary0123456789",
    "hook": "hook-ADMIN-canary-0123456789",
}


@pytest.fixture
def world():
    tenant = TenantFactory(webhook_secret=CANARIES["hook"])
    tenant.set_secret("llm_key", CANARIES["llm"])
    tenant.set_secret("webhook_signing_secret", "whsec_ADMINcanarysigning")
    tenant.save()
    bot = make_bot(tenant, "mate-bot", token=CANARIES["pat"])
    member(tenant)
    ConfigVersion.objects.create(tenant=tenant, version=1, text="version: 1\n")
    return tenant, bot


def _admin_pages(tenant, bot):
    for model, obj in [
        (Tenant, tenant),
        (Bot, bot),
        (Membership, Membership.objects.first()),
        (ConfigVersion, ConfigVersion.objects.first()),
    ]:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{prefix}_changelist")
        yield reverse(f"{prefix}_change", args=[obj.pk])


def test_no_admin_page_renders_a_secret_or_ciphertext(admin_client, world):
    tenant, bot = world
    ciphertexts = [
        tenant.webhook_secret_ciphertext,
        tenant.llm_key_ciphertext,
        tenant.webhook_signing_secret_ciphertext,
        bot.token_ciphertext,
    ]
    for url in _admin_pages(tenant, bot):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for value in [*CANARIES.values(), "whsec_ADMINcanarysigning", *ciphertexts]:
            assert value not in html, f"{url} renders a secret"
        assert "mate1$" not in html, url


def test_bots_and_configs_are_read_only(admin_client, world):
    tenant, bot = world
    assert admin_client.get(reverse("admin:tenants_bot_add")).status_code == 403
    url = reverse("admin:tenants_bot_change", args=[bot.pk])
    admin_client.post(url, {"username": "renamed"})
    bot.refresh_from_db()
    assert bot.username == "mate-bot"


def test_suspend_action_is_logged(admin_client, world):
    tenant, _ = world
    response = admin_client.post(
        reverse("admin:tenants_tenant_changelist"),
        {"action": "suspend", "_selected_action": [tenant.pk]},
        follow=True,
    )
    assert response.status_code == 200
    tenant.refresh_from_db()
    assert tenant.suspended
    assert LogEntry.objects.filter(
        object_id=str(tenant.pk), change_message="Suspended the tenant"
    ).exists()
