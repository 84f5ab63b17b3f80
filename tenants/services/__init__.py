"""Every tenant-side write with rules or side effects (DESIGN §2). Interfaces call these."""

from tenants.services.bots import (
    BotRegistrationError,
    register_bot,
    remove_bot,
    replace_bot_token,
    set_default_bot,
)
from tenants.services.configs import ConfigInvalid, save_config
from tenants.services.gitlab_url import (
    URLChange,
    URLChangeImpact,
    change_gitlab_url,
    gitlab_url_for_saving,
    url_change_impact,
)
from tenants.services.members import MembershipError, add_member, change_role, remove_member
from tenants.services.tenant import (
    SettingsError,
    clear_signing_secret,
    create_tenant,
    rotate_signing_secret,
    rotate_webhook_secret,
    set_llm_credential,
    set_suspended,
    update_settings,
)

__all__ = [
    "BotRegistrationError",
    "ConfigInvalid",
    "MembershipError",
    "SettingsError",
    "URLChange",
    "URLChangeImpact",
    "add_member",
    "change_gitlab_url",
    "change_role",
    "clear_signing_secret",
    "create_tenant",
    "gitlab_url_for_saving",
    "register_bot",
    "remove_bot",
    "remove_member",
    "replace_bot_token",
    "rotate_signing_secret",
    "rotate_webhook_secret",
    "save_config",
    "set_default_bot",
    "set_llm_credential",
    "set_suspended",
    "update_settings",
    "url_change_impact",
]
