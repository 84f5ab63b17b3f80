"""Django admin for support staff (SPEC §1). No secret value or ciphertext is ever rendered:
secret columns are not editable and only their "set at" times are shown. The GitLab URL and
every bot field are read-only (a token goes only to the GitLab it was registered on: THREATS
T35); membership changes by staff are logged (admin history and the ``tenants.admin`` log)."""

from __future__ import annotations

import logging

from django.contrib import admin, messages

from tenants import services
from tenants.models import Bot, ConfigVersion, Membership, Tenant

log = logging.getLogger(__name__)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "uid", "plan", "mates", "suspended_at", "created_at")
    list_filter = ("plan",)
    search_fields = ("name", "uid")
    fields = (
        "uid",
        "name",
        "gitlab_url",
        "plan",
        "mates",
        "mate_filename",
        "default_bot",
        "suspended_at",
        "llm_provider",
        "llm_key_set_at",
        "webhook_secret_set_at",
        "webhook_signing_secret_set_at",
        "first_delivery_at",
        "created_at",
    )
    readonly_fields = (
        "uid",
        "gitlab_url",  # owners change it in the console, which erases the bot tokens
        "default_bot",
        "suspended_at",
        "llm_provider",
        "llm_key_set_at",
        "webhook_secret_set_at",
        "webhook_signing_secret_set_at",
        "first_delivery_at",
        "created_at",
    )
    actions = ("suspend", "resume")

    def has_add_permission(self, request) -> bool:
        return False  # tenants are created by operators in the console (webhook secret shown once)

    @admin.action(description="Suspend (kill switch): record deliveries, dispatch nothing")
    def suspend(self, request, queryset):
        for tenant in queryset:
            services.set_suspended(tenant=tenant, suspended=True)
            self.log_change(request, tenant, "Suspended the tenant")
        messages.warning(request, f"Suspended {queryset.count()} tenant(s).")

    @admin.action(description="Resume suspended tenants")
    def resume(self, request, queryset):
        for tenant in queryset:
            services.set_suspended(tenant=tenant, suspended=False)
            self.log_change(request, tenant, "Resumed the tenant")
        messages.info(request, f"Resumed {queryset.count()} tenant(s).")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "tenant__name")
    autocomplete_fields = ("user", "tenant")

    def save_model(self, request, obj, form, change) -> None:
        before = Membership.objects.filter(pk=obj.pk).values_list("role", flat=True).first()
        super().save_model(request, obj, form, change)
        what = f"role {before} -> {obj.role}" if change else f"added as {obj.role}"
        log.warning(
            "staff %s changed membership of %s in tenant %s (%s): %s",
            request.user.get_username(),
            obj.user,
            obj.tenant,
            obj.tenant.uid,
            what,
        )

    def delete_model(self, request, obj) -> None:
        self._log_removal(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset.select_related("user", "tenant"):
            self._log_removal(request, membership)
        super().delete_queryset(request, queryset)

    def _log_removal(self, request, obj: Membership) -> None:
        log.warning(
            "staff %s removed %s (%s) from tenant %s (%s)",
            request.user.get_username(),
            obj.user,
            obj.role,
            obj.tenant,
            obj.tenant.uid,
        )


@admin.register(Bot)
class BotAdmin(ReadOnlyAdmin):
    list_display = ("username", "tenant", "gitlab_user_id", "token_expires_on", "token_set_at")
    search_fields = ("username", "tenant__name")
    fields = (
        "uid",
        "tenant",
        "username",
        "gitlab_user_id",
        "gitlab_url",
        "scopes",
        "token_expires_on",
        "token_set_at",
        "created_at",
    )
    readonly_fields = fields


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "version", "author", "created_at")
    search_fields = ("tenant__name",)
    fields = ("tenant", "version", "author", "created_at", "text")
    readonly_fields = fields
