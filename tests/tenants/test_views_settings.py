"""Settings page: general settings, the write-only LLM key, webhook and signing secrets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.tenants.factories import member

pytestmark = pytest.mark.django_db

LLM_KEY = "sk-or-v1-CANARY-" + "0123456789abcdef" * 3


def url(name, tenant):
    return reverse(f"console:{name}", kwargs={"tenant": tenant.uid})


def every_page(client, tenant):
    """The HTML of every page of the tenant a member can open."""
    names = ["overview", "bots", "settings", "config", "config_history"]
    pages = [client.get(url(n, tenant)) for n in names]
    pages += [
        client.get(reverse("console:config_version", kwargs={"tenant": tenant.uid, "version": v}))
        for v in tenant.config_versions.values_list("version", flat=True)
    ]
    pages.append(client.get("/"))
    assert all(p.status_code == 200 for p in pages)
    return [p.content.decode() for p in pages]


# -- page ----------------------------------------------------------------------------------


def test_viewer_sees_settings_read_only(as_user, world):
    response = as_user(world.viewer).get(url("settings", world.tenant))
    assert response.status_code == 200
    html = response.content.decode()
    assert "read-only access" in html
    assert world.tenant.gitlab_url in html and ".mate.yml" in html
    assert "<form" not in html.split("</header>", 1)[1]
    assert f"/hook/{world.tenant.uid}" in html
    for user in ["olivia", "oscar", "vera"]:
        assert user in html
    assert "mallory" not in html


def test_operator_gets_the_general_form_only(as_user, world):
    html = as_user(world.operator).get(url("settings", world.tenant)).content.decode()
    assert f'action="{url("settings_general", world.tenant)}"' in html
    assert url("settings_llm", world.tenant) not in html
    assert url("webhook_rotate", world.tenant) not in html
    assert url("member_add", world.tenant) not in html


def test_owner_gets_every_form(as_user, world):
    html = as_user(world.owner).get(url("settings", world.tenant)).content.decode()
    for name in [
        "settings_general",
        "settings_llm",
        "webhook_rotate",
        "signing_rotate",
        "member_add",
    ]:
        assert url(name, world.tenant) in html


# -- general -------------------------------------------------------------------------------


def test_general_settings_are_saved_but_never_the_gitlab_url(as_user, world):
    """T35: the general form (operators) has no GitLab URL; one posted anyway is ignored."""
    data = {
        "name": "Acme Robotics",
        "gitlab_url": "https://git.acme.example/",
        "mate_filename": ".acme.yml",
    }
    response = as_user(world.operator).post(url("settings_general", world.tenant), data)
    assert response.status_code == 302
    assert response["Location"].endswith("/settings/#general")
    world.tenant.refresh_from_db()
    assert world.tenant.name == "Acme Robotics"
    assert world.tenant.gitlab_url == "https://gitlab.example.com"
    assert world.tenant.mate_filename == ".acme.yml"
    world.bot.refresh_from_db()
    assert world.bot.has_secret("token")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "x" * 81, "1 to 80 characters"),
        ("mate_filename", "conf/.mate.yml", "no folders"),
        ("mate_filename", "", "This field is required"),
    ],
)
def test_general_settings_errors_name_the_field(as_user, world, field, value, message):
    data = {"name": "Acme", "mate_filename": ".mate.yml"}
    data[field] = value
    response = as_user(world.operator).post(url("settings_general", world.tenant), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    # The error sits with its field (Django links it by id_<field>_error).
    assert f'id="id_{field}_error"' in html
    world.tenant.refresh_from_db()
    assert (world.tenant.name, world.tenant.mate_filename) == ("Acme", ".mate.yml")


# -- LLM credential ------------------------------------------------------------------------


def test_llm_key_is_saved_and_never_shown_again(as_user, world):
    client = as_user(world.owner)
    response = client.post(
        url("settings_llm", world.tenant), {"llm_provider": "anthropic", "llm_key": LLM_KEY}
    )
    assert response.status_code == 302
    world.tenant.refresh_from_db()
    assert world.tenant.llm_provider == "anthropic"
    assert world.tenant.reveal_secret("llm_key") == LLM_KEY
    settings_html = client.get(url("settings", world.tenant)).content.decode()
    assert f"Anthropic key set on {world.tenant.llm_key_set_at:%Y-%m-%d %H:%M}" in settings_html
    assert "LLM credential saved" in settings_html
    for user in [world.owner, world.operator, world.viewer]:
        for html in every_page(as_user(user), world.tenant):
            assert LLM_KEY not in html
            assert "CANARY" not in html


@pytest.mark.parametrize("key", ["short-key", "k" * 501])
def test_llm_key_length_is_checked_and_the_field_stays_empty(as_user, world, key):
    response = as_user(world.owner).post(
        url("settings_llm", world.tenant), {"llm_provider": "openrouter", "llm_key": key}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "20 to 500 characters" in html
    assert 'id="id_llm_key_error"' in html
    assert key not in html
    world.tenant.refresh_from_db()
    assert not world.tenant.has_secret("llm_key")


def test_llm_provider_must_be_known(as_user, world):
    response = as_user(world.owner).post(
        url("settings_llm", world.tenant), {"llm_provider": "openai", "llm_key": LLM_KEY}
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    assert LLM_KEY not in response.content.decode()


# -- webhook and signing secrets -----------------------------------------------------------


def test_rotating_the_webhook_secret_shows_the_new_one_once(as_user, world):
    client = as_user(world.owner)
    old = world.tenant.reveal_secret("webhook_secret")
    confirm = client.get(url("webhook_rotate", world.tenant))
    assert b"Rotate the webhook secret?" in confirm.content
    response = client.post(url("webhook_rotate", world.tenant))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    world.tenant.refresh_from_db()
    new = world.tenant.reveal_secret("webhook_secret")
    assert new != old
    assert response.content.decode().count(new) == 1
    assert old not in response.content.decode()
    assert new not in client.get(url("webhook_rotate", world.tenant)).content.decode()
    for html in every_page(client, world.tenant):
        assert new not in html
    assert new not in str(dict(client.session))


def test_signing_secret_rotate_and_clear(as_user, world):
    client = as_user(world.owner)
    response = client.post(url("signing_rotate", world.tenant))
    assert response.status_code == 200
    world.tenant.refresh_from_db()
    secret = world.tenant.reveal_secret("webhook_signing_secret")
    assert secret.startswith("whsec_")
    assert response.content.decode().count(secret) == 1
    settings_html = client.get(url("settings", world.tenant)).content.decode()
    assert secret not in settings_html
    assert url("signing_clear", world.tenant) in settings_html
    response = client.post(url("signing_clear", world.tenant))
    assert response.status_code == 302
    world.tenant.refresh_from_db()
    assert not world.tenant.has_secret("webhook_signing_secret")


def test_a_second_owner_can_manage_secrets(as_user, world):
    second = member(world.tenant, Role.OWNER)
    assert as_user(second).post(url("signing_rotate", world.tenant)).status_code == 200
