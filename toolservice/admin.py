"""Django admin: tool calls are an audit log, and what jobs created a record the scope rules
read; both are shown read-only to support staff."""

from __future__ import annotations

from django.contrib import admin

from toolservice.models import CreatedByJob, ToolCall


@admin.register(ToolCall)
class ToolCallAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "tenant",
        "job",
        "tool",
        "transport",
        "outcome",
        "error_category",
        "duration_ms",
    )
    list_filter = ("outcome", "error_category", "transport", "tool")
    search_fields = ("tool", "job__uid", "tenant__name")
    list_select_related = ("tenant", "job")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ToolCall._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreatedByJob)
class CreatedByJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "tenant", "job", "kind", "branch", "iid")
    list_filter = ("kind",)
    search_fields = ("branch", "job__uid", "tenant__name")
    list_select_related = ("tenant", "job")
    readonly_fields = [f.name for f in CreatedByJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
