"""Config page: editor contract, save (versioned, never invalid), live validation, history, diff."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

import configschema
from tenants.models import ConfigVersion, Role
from tenants.services.configs import STARTER_TEMPLATE
from tenants.views.config import MAX_VALIDATE_BODY
from tests.tenants.factories import ConfigVersionFactory, TenantFactory, member

pytestmark = pytest.mark.django_db

INVALID = "version: 1\nagents:\n  a:\n    backend: nope\nbots: 1\n"
CHANGED = STARTER_TEMPLATE.replace("cooldown: 1m", "cooldown: 5m")


def url(name, tenant, **kwargs):
    return reverse(f"console:{name}", kwargs={"tenant": tenant.uid, **kwargs})


@pytest.fixture
def configured(world):
    """The world's tenant with the starter template as version 1."""
    ConfigVersion.objects.filter(tenant=world.tenant).update(text=STARTER_TEMPLATE)
    return world


def validate(client, tenant, body, content_type="application/json"):
    return client.post(url("config_validate", tenant), data=body, content_type=content_type)


# -- editor page ---------------------------------------------------------------------------


def test_editor_page_follows_the_editor_contract(as_user, configured):
    html = as_user(configured.operator).get(url("config", configured.tenant)).content.decode()
    assert '<form id="config-form" method="post"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<textarea name="text" id="config-text"' in html
    assert (
        f'<div id="config-editor" data-validate-url="{url("config_validate", configured.tenant)}"'
        in html
    )
    assert 'id="problem-count"' in html and '<ul id="problem-list">' in html
    assert 'src="/static/editor/config-editor.js" defer' in html
    assert "/static/editor/config-editor.css" in html
    assert "Version 1" in html and "by olivia" in html
    assert "cooldown: 1m" in html


def test_editor_without_config_offers_the_starter_template(as_user, db):
    tenant = TenantFactory()
    user = member(tenant, Role.OPERATOR)
    html = as_user(user).get(url("config", tenant)).content.decode()
    assert "this is the starter template" in html
    assert "claude-code" in html and "triggers:" in html


def test_editor_escapes_the_text(as_user, world):
    ConfigVersionFactory(tenant=world.tenant, version=2, text="# </textarea><script>x()</script>\n")
    html = as_user(world.viewer).get(url("config", world.tenant)).content.decode()
    assert "<script>x()" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


def test_viewer_gets_a_read_only_editor_without_save(as_user, configured):
    html = as_user(configured.viewer).get(url("config", configured.tenant)).content.decode()
    assert "readonly" in html
    assert ">Save<" not in html
    assert "Read-only" in html


def test_editor_can_start_from_an_older_version(as_user, configured):
    ConfigVersionFactory(tenant=configured.tenant, version=2, text=CHANGED)
    html = (
        as_user(configured.operator)
        .get(url("config", configured.tenant) + "?from=1")
        .content.decode()
    )
    assert "Loaded from version 1" in html
    assert "cooldown: 1m" in html
    assert (
        as_user(configured.operator).get(url("config", configured.tenant) + "?from=9").status_code
        == 404
    )


# -- save ----------------------------------------------------------------------------------


def test_valid_save_creates_the_next_version_with_author(as_user, configured):
    client = as_user(configured.operator)
    response = client.post(
        url("config", configured.tenant), {"text": CHANGED.replace("\n", "\r\n")}
    )
    assert response.status_code == 302
    latest = configured.tenant.current_config()
    assert latest.version == 2
    assert latest.author == configured.operator
    assert latest.text == CHANGED  # browsers' CRLF line breaks are normalized
    assert b"Saved configuration version 2." in client.get(response["Location"]).content


def test_invalid_save_is_refused_with_problems_and_keeps_the_text(as_user, configured):
    response = as_user(configured.operator).post(
        url("config", configured.tenant), {"text": INVALID}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "not saved" in html
    assert "3 errors" in html
    assert "4:14 agents.a.backend: unknown backend nope" in html
    assert 'data-line="5"' in html and "bots: is not allowed" in html
    assert "backend: nope" in html  # the submitted text is back in the textarea
    assert ConfigVersion.objects.filter(tenant=configured.tenant).count() == 1


def test_save_without_text_field_is_400(as_user, configured):
    response = as_user(configured.operator).post(url("config", configured.tenant), {})
    assert response.status_code == 400
    assert b"Nothing was saved" in response.content
    assert ConfigVersion.objects.filter(tenant=configured.tenant).count() == 1


def test_empty_text_is_a_problem_not_a_crash(as_user, configured):
    response = as_user(configured.operator).post(url("config", configured.tenant), {"text": ""})
    assert response.status_code == 400
    assert b"the document is empty" in response.content
    assert ConfigVersion.objects.filter(tenant=configured.tenant).count() == 1


# -- validate endpoint ---------------------------------------------------------------------


def test_validate_returns_problems_with_positions(as_user, configured):
    response = validate(
        as_user(configured.viewer), configured.tenant, json.dumps({"text": INVALID})
    )
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is False
    assert {
        "severity": "error",
        "path": "agents.a.backend",
        "line": 4,
        "column": 14,
        "message": "unknown backend nope; expected one of: claude-code, copilot, aider",
    } in data["problems"]
    assert all(
        set(p) == {"severity", "path", "line", "column", "message"} for p in data["problems"]
    )
    assert ConfigVersion.objects.filter(tenant=configured.tenant).count() == 1


def test_validate_accepts_a_valid_document(as_user, configured):
    response = validate(
        as_user(configured.viewer), configured.tenant, json.dumps({"text": STARTER_TEMPLATE})
    )
    assert response.json() == {"ok": True, "problems": []}


def test_validate_reports_yaml_syntax_errors(as_user, configured):
    response = validate(
        as_user(configured.viewer), configured.tenant, json.dumps({"text": "agents: [\n"})
    )
    problem = response.json()["problems"][0]
    assert problem["line"] == 2 and problem["column"] == 1
    assert "invalid YAML" in problem["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "must be JSON"),
        ("[1, 2]", '"text" field'),
        ('{"txt": "version: 1"}', '"text" field'),
        ('{"text": 12}', '"text" field'),
        (b"\xff\xfe", "must be JSON"),
    ],
)
def test_validate_bad_bodies_are_400_with_a_clear_error(as_user, configured, body, message):
    response = validate(as_user(configured.viewer), configured.tenant, body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_validate_caps_the_body(as_user, configured):
    text = "# " + "x" * MAX_VALIDATE_BODY
    response = validate(as_user(configured.viewer), configured.tenant, json.dumps({"text": text}))
    assert response.status_code == 413
    assert "256 KiB" in response.json()["error"]


def test_validate_just_under_the_cap_is_checked_by_the_language(as_user, configured):
    text = "# " + "x" * (256 * 1024)  # over the language's limit, under the body cap
    response = validate(as_user(configured.viewer), configured.tenant, json.dumps({"text": text}))
    assert response.status_code == 200
    assert response.json()["ok"] is False


# -- history and diff ----------------------------------------------------------------------


def test_history_lists_versions_with_author_and_time(as_user, configured):
    second = ConfigVersionFactory(
        tenant=configured.tenant, version=2, text=CHANGED, author=configured.operator
    )
    html = as_user(configured.viewer).get(url("config_history", configured.tenant)).content.decode()
    assert html.index("Version 2") < html.index("Version 1")
    assert "oscar" in html and "olivia" in html
    assert f"{second.created_at:%Y-%m-%d %H:%M:%S}" in html
    assert url("config_version", configured.tenant, version=2) in html


def test_history_without_versions(as_user, db):
    tenant = TenantFactory()
    html = as_user(member(tenant, Role.VIEWER)).get(url("config_history", tenant)).content.decode()
    assert "No configuration saved yet" in html


def test_saving_then_diff_shows_the_change(as_user, configured):
    client = as_user(configured.operator)
    client.post(url("config", configured.tenant), {"text": CHANGED})
    response = client.get(url("config_version", configured.tenant, version=2))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Changes from version 1" in html
    assert '<span class="del">-  cooldown: 1m</span>' in html
    assert '<span class="add">+  cooldown: 5m</span>' in html
    assert '<span class="file">--- version 1</span>' in html
    assert 'class="hunk">@@' in html
    assert "by oscar" in html


def test_first_version_diff_is_all_added_and_escaped(as_user, world):
    ConfigVersion.objects.filter(tenant=world.tenant).update(
        text="# <b>bold</b> & more\nversion: 1\n"
    )
    html = (
        as_user(world.viewer).get(url("config_version", world.tenant, version=1)).content.decode()
    )
    assert "First version" in html
    assert '<span class="add">+# &lt;b&gt;bold&lt;/b&gt; &amp; more</span>' in html
    assert "<b>bold</b>" not in html


# -- policies accepted but not enforced yet (SPEC §4.9) --------------------------------------

PENDING_POLICIES = STARTER_TEMPLATE.replace(
    "  default_timeout: 30m\n",
    "  default_timeout: 30m\n  egress: [pypi.org]\n  announce: summary\n",
)


def test_validate_reports_not_enforced_policies_as_warnings(as_user, configured):
    data = validate(
        as_user(configured.viewer), configured.tenant, json.dumps({"text": PENDING_POLICIES})
    ).json()
    assert data["ok"] is True
    assert [(p["severity"], p["path"]) for p in data["problems"]] == [
        ("warning", "policies.egress"),
        ("warning", "policies.announce"),
    ]
    assert "jobs can still reach any host" in data["problems"][0]["message"]


def test_a_config_with_warnings_saves(as_user, configured):
    response = as_user(configured.operator).post(
        url("config", configured.tenant), {"text": PENDING_POLICIES}
    )
    assert response.status_code == 302
    assert configured.tenant.current_config().text == PENDING_POLICIES


def test_the_starter_template_lists_the_new_policies_commented_out():
    # Written out, each would warn on a tenant's first config; commented, they document.
    for key in ("max_cost_per_job", "daily_budget", "egress", "announce"):
        assert f"  # {key}: " in STARTER_TEMPLATE
    result = configschema.validate_tenant(
        STARTER_TEMPLATE.replace("  # max_cost", "  max_cost")
        .replace("  # daily", "  daily")
        .replace("  # egress", "  egress")
        .replace("  # announce", "  announce")
    )
    assert result.ok and len(result.warnings) == 4
