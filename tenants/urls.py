"""Console URLs of the tenants app; mounted in the ``console`` namespace by mate/urls.py."""

from django.urls import path

from tenants.views import bots, config, members, settings, tenants

T = "t/<uuid:tenant>/"

urlpatterns = [
    path("", tenants.home, name="home"),
    path("tenants/new", tenants.create, name="tenant_create"),
    path(T, tenants.overview, name="overview"),
    # Bots
    path(T + "bots/", bots.bots, name="bots"),
    path(T + "bots/add", bots.add, name="bot_add"),
    path(T + "bots/<uuid:bot>/replace", bots.replace, name="bot_replace"),
    path(T + "bots/<uuid:bot>/default", bots.make_default, name="bot_default"),
    path(T + "bots/<uuid:bot>/remove", bots.remove, name="bot_remove"),
    # Settings
    path(T + "settings/", settings.settings_page, name="settings"),
    path(T + "settings/general", settings.general, name="settings_general"),
    path(T + "settings/gitlab-url", settings.gitlab_url, name="settings_gitlab_url"),
    path(T + "settings/llm", settings.llm_credential, name="settings_llm"),
    path(
        T + "settings/webhook-secret/rotate", settings.rotate_webhook_secret, name="webhook_rotate"
    ),
    path(
        T + "settings/signing-secret/rotate", settings.rotate_signing_secret, name="signing_rotate"
    ),
    path(T + "settings/signing-secret/clear", settings.clear_signing_secret, name="signing_clear"),
    path(T + "settings/members/add", members.add, name="member_add"),
    path(T + "settings/members/<int:member>/role", members.change_role, name="member_role"),
    path(T + "settings/members/<int:member>/remove", members.remove, name="member_remove"),
    # Config
    path(T + "config/", config.editor, name="config"),
    path(T + "config/validate", config.validate_text, name="config_validate"),
    path(T + "config/history/", config.history, name="config_history"),
    path(T + "config/history/<int:version>/", config.version, name="config_version"),
]
