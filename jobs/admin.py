"""Django admin for support staff (SPEC §1): deliveries, their outcomes, jobs, timelines and job
tokens, all read-only (they are records, not settings). Staff may cancel jobs (SPEC §6.7).

Never rendered: a job token's ciphertext and a job's credential hash (T24).
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobToken
from jobs.services import lifecycle

MAX_ADMIN_BODY = 200_000


class RecordAdmin(admin.ModelAdmin):
    """Read-only: no add, no change; deleting is left to the retention purge."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _pretty(value) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_ADMIN_BODY:
        text = text[:MAX_ADMIN_BODY] + "\n… (cut)"
    return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    fields = ("position", "event", "bot", "resolution", "reason", "job")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(RecordAdmin):
    list_display = ("received_at", "tenant", "hook", "state", "summary", "attempts")
    list_filter = ("state", "hook")
    search_fields = ("uid", "idempotency_key", "tenant__name")
    list_select_related = ("tenant",)
    date_hierarchy = "received_at"
    fields = (
        "uid",
        "tenant",
        "hook",
        "idempotency_key",
        "state",
        "received_at",
        "processed_at",
        "attempts",
        "summary",
        "received_bytes",
        "body_cut",
        "headers_pretty",
        "body_pretty",
    )
    readonly_fields = fields
    inlines = [DeliveryEventInline]

    @admin.display(description="headers")
    def headers_pretty(self, obj: Delivery) -> str:
        return _pretty(obj.headers)

    @admin.display(description="body")
    def body_pretty(self, obj: Delivery) -> str:
        if obj.body_cut:  # the first 64 KiB as received (SPEC §5.1), escaped like the rest
            return format_html('<pre style="white-space:pre-wrap">{}</pre>', obj.body_head)
        return _pretty(obj.body)


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(RecordAdmin):
    list_display = ("created_at", "tenant", "event", "bot", "resolution", "reason", "job")
    list_filter = ("resolution", "event")
    search_fields = ("delivery__uid", "tenant__name", "bot", "reason")
    list_select_related = ("tenant", "job")
    fields = (
        "delivery",
        "tenant",
        "position",
        "event",
        "bot",
        "resolution",
        "reason",
        "detail",
        "job",
        "created_at",
    )
    readonly_fields = fields


class JobEventInline(admin.TabularInline):
    model = JobEvent
    fields = ("created_at", "kind", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("-id",)

    def get_queryset(self, request):
        # The newest 200 entries: a job may have 20,000 log lines.
        queryset = super().get_queryset(request)
        newest = list(queryset.order_by("-id").values_list("id", flat=True)[:200])
        return queryset.filter(id__in=newest)


# Every field of Job but the credential hash (a secret's hash is still not for display).
JOB_FIELDS = tuple(f.name for f in Job._meta.fields if f.name not in ("id", "credential_hash"))


@admin.register(Job)
class JobAdmin(RecordAdmin):
    list_display = ("created_at", "tenant", "agent", "event", "status", "outcome", "tool_calls")
    list_filter = ("status", "outcome", "event")
    search_fields = ("uid", "agent", "project_path", "tenant__name", "bot_username")
    list_select_related = ("tenant",)
    date_hierarchy = "created_at"
    fields = JOB_FIELDS
    readonly_fields = JOB_FIELDS
    inlines = [JobEventInline]
    actions = ("cancel",)

    @admin.action(description="Cancel the selected jobs (those not final yet)")
    def cancel(self, request, queryset):
        canceled = 0
        for job in queryset:
            if not job.is_final and lifecycle.cancel_job(
                job, f"canceled by staff {request.user.get_username()}"
            ):
                canceled += 1
                self.log_change(request, job, "Canceled the job")
        messages.info(request, f"Cancel requested for {canceled} job(s); final jobs are skipped.")

    def has_cancel_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff


JobAdmin.cancel.allowed_permissions = ("cancel",)


@admin.register(JobEvent)
class JobEventAdmin(RecordAdmin):
    list_display = ("created_at", "job", "kind")
    list_filter = ("kind",)
    search_fields = ("job__uid",)
    list_select_related = ("job",)
    fields = ("job", "kind", "data", "created_at")
    readonly_fields = fields


@admin.register(JobToken)
class JobTokenAdmin(RecordAdmin):
    list_display = ("minted_at", "job", "kind", "gitlab_token_id", "access_level", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("job__uid", "uid")
    list_select_related = ("job",)
    # value_ciphertext is left out on purpose: support staff never see a secret or its ciphertext.
    fields = (
        "uid",
        "job",
        "kind",
        "gitlab_token_id",
        "scopes",
        "access_level",
        "minted_at",
        "value_set_at",
        "revoked_at",
    )
    readonly_fields = fields
