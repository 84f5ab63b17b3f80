"""The audit log of tool calls (SPEC §7.2 step 6)."""

from __future__ import annotations

from django.db import models

from jobs.models import Job
from tenants.models import Tenant, TenantOwnedQuerySet


class ToolCall(models.Model):
    """One call of one tool by one job, allowed or not.

    ``arguments`` are stored with long values cut and secrets redacted, as the agent sent them;
    ``neutralized_commands`` names, per text field, the quick-action lines Mate sent to GitLab
    as inline code instead (SPEC §7.3, T31). ``denial_reason`` is
    the real reason a call was refused (e.g. a tool outside the effective set); it is for
    support staff and operators, never returned to the agent.
    """

    class Outcome(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        DENIED = "denied"

    class Transport(models.TextChoices):
        REST = "rest"
        MCP = "mcp"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tool_call_rows")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tool_calls")
    tool = models.CharField(max_length=100)
    transport = models.CharField(max_length=10, choices=Transport.choices)
    arguments = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error_category = models.CharField(max_length=20, blank=True)
    denial_reason = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    neutralized_commands = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "created_at"], name="toolcall_job_created")]

    def __str__(self) -> str:
        return f"{self.tool} ({self.outcome})"


class CreatedByJob(models.Model):
    """A branch or merge request a job created through its tools (SPEC §7.3; T33).

    The one record of what a job made: ``create_merge_request`` opens merge requests only from
    branches listed here (or the job MR's own source branch), and ``merge_merge_request`` merges
    only the job's own merge request or one listed here.
    """

    class Kind(models.TextChoices):
        BRANCH = "branch"
        MERGE_REQUEST = "merge_request"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="created_objects")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    branch = models.CharField(max_length=255, blank=True)
    iid = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "kind"], name="createdbyjob_job_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.branch or self.iid} of job {self.job_id}"
