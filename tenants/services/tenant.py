"""Creating tenants and changing their settings and secrets."""

from __future__ import annotations

import base64
import re
import secrets

from django.db import transaction
from django.utils import timezone

from tenants.models import LLMProvider, Membership, Plan, Role, Tenant
from tenants.services.errors import SettingsError
from tenants.services.gitlab_url import change_gitlab_url, gitlab_url_for_saving

LLM_KEY_MIN, LLM_KEY_MAX = 20, 500
FILENAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,120}$")


def _name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise SettingsError("name", "Tenant name must be 1 to 80 characters long.")
    return name


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def create_tenant(
    *, user, name: str, gitlab_url: str, plan: str = Plan.STARTER
) -> tuple[Tenant, str]:
    """Create a tenant owned by ``user``; returns it and its webhook secret (shown once)."""
    if plan not in Plan.values:
        raise SettingsError("plan", f"Plan must be one of {', '.join(Plan.values)}.")
    tenant = Tenant(name=_name(name), gitlab_url=gitlab_url_for_saving(gitlab_url), plan=plan)
    secret = new_webhook_secret()
    tenant.set_secret("webhook_secret", secret)
    tenant.save()
    Membership.objects.create(user=user, tenant=tenant, role=Role.OWNER)
    return tenant, secret


def update_settings(
    *,
    tenant: Tenant,
    name: str | None = None,
    gitlab_url: str | None = None,
    mate_filename: str | None = None,
) -> Tenant:
    """Name and .mate.yml filename; a GitLab URL goes through ``change_gitlab_url`` (it revokes
    and erases every bot token; the console offers it to owners only)."""
    fields = []
    if name is not None:
        tenant.name = _name(name)
        fields.append("name")
    if gitlab_url is not None:
        change_gitlab_url(tenant=tenant, gitlab_url=gitlab_url)
    if mate_filename is not None:
        mate_filename = mate_filename.strip()
        if not FILENAME_RE.match(mate_filename) or mate_filename in (".", ".."):
            raise SettingsError(
                "mate_filename",
                "The .mate.yml filename must be a file name at the repository root "
                "(letters, digits, '.', '_' or '-'; no folders), e.g. .mate.yml",
            )
        tenant.mate_filename = mate_filename
        fields.append("mate_filename")
    if fields:
        tenant.save(update_fields=fields)
    return tenant


def set_llm_credential(*, tenant: Tenant, provider: str, key: str) -> None:
    """Replace the tenant's LLM credential. The key is write-only from here on."""
    if provider not in LLMProvider.values:
        raise SettingsError("llm_provider", "LLM provider must be OpenRouter or Anthropic.")
    key = (key or "").strip()
    if not LLM_KEY_MIN <= len(key) <= LLM_KEY_MAX:
        raise SettingsError(
            "llm_key",
            f"The LLM API key must be {LLM_KEY_MIN} to {LLM_KEY_MAX} characters; paste the whole key.",
        )
    tenant.llm_provider = provider
    tenant.set_secret("llm_key", key)
    tenant.save(update_fields=["llm_provider", "llm_key_ciphertext", "llm_key_set_at"])


def rotate_webhook_secret(*, tenant: Tenant) -> str:
    """A new webhook secret; the old one stops working at once. Returns it (shown once)."""
    secret = new_webhook_secret()
    tenant.set_secret("webhook_secret", secret)
    tenant.save(update_fields=["webhook_secret_ciphertext", "webhook_secret_set_at"])
    return secret


def rotate_signing_secret(*, tenant: Tenant) -> str:
    """A new Standard Webhooks signing secret (``whsec_`` + base64 of 32 bytes), shown once."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    tenant.set_secret("webhook_signing_secret", secret)
    tenant.save(
        update_fields=["webhook_signing_secret_ciphertext", "webhook_signing_secret_set_at"]
    )
    return secret


def clear_signing_secret(*, tenant: Tenant) -> None:
    tenant.set_secret("webhook_signing_secret", None)
    tenant.save(
        update_fields=["webhook_signing_secret_ciphertext", "webhook_signing_secret_set_at"]
    )


def set_suspended(*, tenant: Tenant, suspended: bool) -> int:
    """Support staff's kill switch (SPEC §1): deliveries are still recorded, routing dispatches
    nothing, and every unfinished job of the tenant is canceled. Returns how many were."""
    tenant.suspended_at = timezone.now() if suspended else None
    tenant.save(update_fields=["suspended_at"])
    if not suspended:
        return 0
    # Imported here: the jobs app builds on tenants, not the other way round.
    from jobs.models import FINAL_STATUSES, Job
    from jobs.services.lifecycle import cancel_job

    unfinished = Job.objects.for_tenant(tenant).exclude(status__in=FINAL_STATUSES)
    return sum(cancel_job(job, "the tenant was suspended") for job in unfinished)
