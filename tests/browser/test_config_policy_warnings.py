"""The Config page in a real browser: policies accepted but not enforced yet (SPEC §4.9) show as
warnings, underlined and listed, and the config still saves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from configschema.policies import NOT_ENFORCED
from tenants.models import ConfigVersion, Role
from tests.tenants.factories import PASSWORD, TenantFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = (
    "version: 1\nagents:\n  helper:\n    backend: claude-code\n    model: claude-sonnet-4-6\n"
    "    system_prompt: Help.\n    permissions: [read, comment]\ntriggers:\n"
    "  - on: comment_mention\n    agent: helper\npolicies:\n  cooldown: 1m\n"
    "  egress: [pypi.org, '*.npmjs.org']\n"
)


def test_a_not_enforced_policy_is_a_warning_and_the_config_saves(browser_page, live_server):
    page = browser_page
    tenant = TenantFactory(name="Acme")
    member(tenant, Role.OPERATOR, username="olga")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#tenant-list-title")).to_be_visible()

    page.goto(f"{live_server.url}/t/{tenant.uid}/config/")
    expect(page.locator(".cm-editor")).to_be_visible()
    page.evaluate("t => window.mateConfigEditor.setText(t)", TEXT)
    expect(page.locator("#problem-count")).to_have_text("1 warning")
    expect(page.locator(".cm-lintRange-warning").first).to_be_visible()
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    item = page.locator("#problem-list li.problem.warning")
    expect(item).to_have_text(f"13:3 policies.egress: {NOT_ENFORCED['egress']}")

    page.locator(".cm-content").click()
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved configuration version 1.")).to_be_visible()
    saved = ConfigVersion.objects.get(tenant=tenant)
    assert saved.text.replace("\r\n", "\n") == TEXT
    # The saved page validates on load: the warning is still shown, nothing was lost.
    expect(page.locator("#problem-count")).to_have_text("1 warning")
