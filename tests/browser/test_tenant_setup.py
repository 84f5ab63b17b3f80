"""An operator goes from sign-in to a tenant with a bot, an LLM key and a saved config, entirely
in the browser (issue: tenants and console), against the GitLab simulator."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tenants.models import Bot, ConfigVersion, Tenant
from tests.tenants.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BROKEN = "version: 1\nagents:\n  helper:\n    backend: claude-code\n    permissions: [read, approve_mr]\n"
FIXED = (
    "version: 1\nagents:\n  helper:\n    backend: claude-code\n    model: claude-sonnet-4-6\n"
    "    system_prompt: Help.\n    permissions: [read, comment]\ntriggers:\n"
    "  - on: comment_mention\n    agent: helper\n"
)


def _replace_editor_text(page, text: str) -> None:
    page.evaluate("t => window.mateConfigEditor.setText(t)", text)


def test_sign_in_create_tenant_add_bot_set_key_and_save_config(
    browser_page, live_server, gitlab_sim, settings
):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    page = browser_page
    UserFactory(username="olga")
    bot_user = gitlab_sim.add_user("mate-bot")
    pat = gitlab_sim.add_pat(bot_user, scopes=["api"])

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#tenant-list-title")).to_be_visible()

    page.fill("#id_name", "Acme")
    page.fill("#id_gitlab_url", gitlab_sim.url)
    page.get_by_role("button", name="Create tenant").click()
    secret = page.locator("#one-time-secret").input_value()
    tenant = Tenant.objects.get(name="Acme")
    assert secret == tenant.reveal_secret("webhook_secret")

    base = f"{live_server.url}/t/{tenant.uid}"
    page.goto(f"{base}/bots/")
    page.fill("input[name=token]", pat)
    page.get_by_role("button", name="Add bot").click()
    expect(page.locator("#bot-list-title")).to_be_visible()
    expect(page.get_by_text("mate-bot").first).to_be_visible()
    assert Bot.objects.get(tenant=tenant).username == "mate-bot"
    assert pat not in page.content()

    page.goto(f"{base}/settings/")
    page.select_option("select[name=llm_provider]", "anthropic")
    page.fill("input[name=llm_key]", "sk-ant-" + "k" * 40)
    page.locator("input[name=llm_key]").press("Enter")
    tenant.refresh_from_db()
    assert tenant.reveal_secret("llm_key") == "sk-ant-" + "k" * 40
    assert "k" * 40 not in page.content()

    page.goto(f"{base}/config/")
    expect(page.locator(".cm-editor")).to_be_visible()
    _replace_editor_text(page, BROKEN)
    expect(page.locator("#problem-count")).to_have_text(re.compile(r"\d+ errors?"))
    expect(page.locator(".cm-lintRange-error").first).to_be_visible()
    assert "approve_mr is not a grantable authority" in page.locator("#problem-list").inner_text()
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    expect(page.locator(".cm-editor")).to_be_visible()
    expect(page.locator("#problem-list")).to_contain_text("approve_mr")
    assert not ConfigVersion.objects.filter(tenant=tenant).exists()

    _replace_editor_text(page, FIXED)
    expect(page.locator("#problem-count")).to_have_text("No problems")
    page.locator(".cm-content").click()
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    expect(page.locator("#problem-count")).to_have_text("No problems")
    saved = ConfigVersion.objects.get(tenant=tenant)
    assert saved.version == 1 and saved.text.replace("\r\n", "\n") == FIXED
    assert saved.author.username == "olga"
