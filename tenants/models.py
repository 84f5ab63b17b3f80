"""Tenants, memberships, bots and configuration versions (SPEC §1-§3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.secrets import SecretsMixin

EXPIRY_WARNING_DAYS = 14


class Plan(models.TextChoices):
    STARTER = "starter", "Starter"
    PLUS = "plus", "Plus"
    ENTERPRISE = "enterprise", "Enterprise"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.OWNER: 3}


class LLMProvider(models.TextChoices):
    OPENROUTER = "openrouter", "OpenRouter"
    ANTHROPIC = "anthropic", "Anthropic"


class TenantOwnedQuerySet(models.QuerySet):
    """Every tenant-owned model's manager: queries are scoped by structure (DESIGN §4)."""

    def for_tenant(self, tenant: Tenant) -> TenantOwnedQuerySet:
        return self.filter(tenant=tenant)


class Tenant(SecretsMixin, models.Model):
    SECRET_FIELDS = ("webhook_secret", "webhook_signing_secret", "llm_key")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80)
    gitlab_url = models.URLField(max_length=300)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.STARTER)
    mates = models.PositiveSmallIntegerField(default=1, help_text="concurrent job slots")
    mate_filename = models.CharField(max_length=120, default=".mate.yml")
    suspended_at = models.DateTimeField(null=True, blank=True)
    default_bot = models.ForeignKey(
        "Bot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    llm_provider = models.CharField(max_length=20, choices=LLMProvider.choices, blank=True)
    first_delivery_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Secret columns (tenants.secrets): ciphertext and when it was set, never the value.
    webhook_secret_ciphertext = models.TextField(blank=True, default="", editable=False)
    webhook_secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    webhook_signing_secret_ciphertext = models.TextField(blank=True, default="", editable=False)
    webhook_signing_secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    llm_key_ciphertext = models.TextField(blank=True, default="", editable=False)
    llm_key_set_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def public_id(self) -> uuid.UUID:
        return self.uid

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    def current_config(self) -> ConfigVersion | None:
        return self.config_versions.order_by("-version").first()


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_user")
        ]
        ordering = ["tenant_id", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    def allows(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class Bot(SecretsMixin, models.Model):
    SECRET_FIELDS = ("token",)

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="bots")
    gitlab_user_id = models.BigIntegerField()
    username = models.CharField(max_length=255)
    scopes = models.JSONField(default=list)
    # The GitLab base URL the token was checked on: the only place its tokens ever go (SPEC §1).
    gitlab_url = models.URLField(max_length=300, blank=True, default="", editable=False)
    token_expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    token_ciphertext = models.TextField(blank=True, default="", editable=False)
    token_set_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "gitlab_user_id"], name="one_bot_per_gitlab_user"
            )
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"@{self.username}"

    def save(self, *args, **kwargs) -> None:
        if self._state.adding and not self.gitlab_url:
            self.gitlab_url = self.tenant.gitlab_url  # a new bot is checked on the current URL
        super().save(*args, **kwargs)

    @property
    def registered_elsewhere(self) -> bool:
        """True when the tenant's GitLab URL changed since this bot's token was checked."""
        return self.gitlab_url != self.tenant.gitlab_url

    def expires_soon(self, today=None) -> bool:
        """True when the PAT expires within 14 days (or already has)."""
        if self.token_expires_on is None:
            return False
        today = today or timezone.now().date()
        return self.token_expires_on <= today + timedelta(days=EXPIRY_WARNING_DAYS)


class ConfigVersion(models.Model):
    """One saved tenant configuration; the newest version is the one in force."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="config_versions")
    version = models.PositiveIntegerField()
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="unique_config_version")
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.tenant} config v{self.version}"
