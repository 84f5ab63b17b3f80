"""Deliveries, their per-event resolutions, jobs and job timelines (SPEC §5.4, §6)."""

from __future__ import annotations

import uuid

from django.db import models

from tenants.models import Tenant, TenantOwnedQuerySet
from tenants.secrets import SecretsMixin


class Delivery(models.Model):
    """One webhook request received from GitLab, stored before it is answered."""

    class State(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        PROCESSED = "processed", "Processed"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="deliveries")
    hook = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=255)
    headers = models.JSONField(default=dict)
    body = models.JSONField(null=True)
    # Bounded storage (SPEC §5.1): a delivery of a hook type Mate ignores, or one over the
    # tenant's delivery rate, keeps at most its first 64 KiB as received; body is then null.
    body_cut = models.BooleanField(
        default=False, help_text="only the first 64 KiB of the body were kept (body_head)"
    )
    body_head = models.TextField(blank=True)
    received_bytes = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACCEPTED)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    summary = models.CharField(max_length=300, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="one_delivery_per_idempotency_key"
            )
        ]
        indexes = [models.Index(fields=["state", "received_at"], name="delivery_state_received")]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.hook or 'delivery'} {self.uid}"


class Resolution(models.TextChoices):
    DISPATCHED = "dispatched", "Dispatched"
    NO_TRIGGER = "no_trigger", "No trigger matched"
    CONFIG_INVALID = "config_invalid", "Config invalid"
    REFUSED = "refused", "Refused"
    SKIPPED_COOLDOWN = "skipped_cooldown", "Skipped (cooldown)"
    REJECTED_QUEUE_FULL = "rejected_queue_full", "Rejected (queue full)"
    IGNORED = "ignored", "Ignored"


class DeliveryEvent(models.Model):
    """What became of one event derived from a delivery (or of the delivery, if none)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="outcomes")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    event = models.CharField(max_length=40, blank=True)
    bot = models.CharField(max_length=255, blank=True)
    resolution = models.CharField(max_length=30, choices=Resolution.choices)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(
        "Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "position"], name="one_outcome_per_event")
        ]
        ordering = ["delivery_id", "position"]

    def __str__(self) -> str:
        return f"{self.event or 'delivery'}: {self.resolution}"


class EventIdentity(models.Model):
    """An event's identity, claimed by the first delivery that routed it (SPEC §5.1).

    ``key`` is a digest of the identity (``jobs.routing.identity``); the unique constraint makes
    the claim safe under concurrent workers. Rows older than the window are stale: a claim
    replaces one, and the retention purge deletes them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(db_index=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="one_claim_per_event_identity")
        ]

    def __str__(self) -> str:
        return f"event {self.key[:12]} from delivery {self.delivery_id}"


class JobStatus(models.TextChoices):
    PENDING = "PENDING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    FINISHING = "FINISHING"
    DONE = "DONE"
    CANCELED = "CANCELED"
    ERRORED = "ERRORED"


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.CANCELED, JobStatus.ERRORED})
ACTIVE_STATUSES = frozenset({JobStatus.STARTING, JobStatus.RUNNING, JobStatus.FINISHING})


class Outcome(models.TextChoices):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELED = "CANCELED"
    TIMEOUT = "TIMEOUT"


class Job(models.Model):
    """One run of one agent for one event, with the frozen snapshot it was created from."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="jobs")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    event_key = models.CharField(max_length=500)
    event = models.CharField(max_length=40)
    bot_username = models.CharField(max_length=255)
    agent = models.CharField(max_length=200)
    trigger = models.CharField(max_length=100, help_text="origin and index, e.g. tenant[2]")
    project_id = models.BigIntegerField()
    project_path = models.CharField(max_length=500, blank=True)
    object_kind = models.CharField(max_length=20)
    object_iid = models.BigIntegerField(null=True, blank=True)
    loop_key = models.CharField(
        max_length=100, help_text="the issue or MR the loop breaker counts, e.g. issue/12"
    )
    snapshot = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    tool_calls = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    # Execution (SPEC §6): only the credential's hash is stored; it is live until the job is
    # final and never past credential_expires_at.
    credential_hash = models.CharField(max_length=64, blank=True, db_index=True)
    credential_expires_at = models.DateTimeField(null=True, blank=True)
    uses_bot_pat = models.BooleanField(
        default=False,
        help_text="GitLab refused to mint a per-job key; the tool service uses the PAT",
    )
    image = models.CharField(max_length=500, blank=True)
    container_name = models.CharField(max_length=100, blank=True)
    container_id = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="hostname:pid running it")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_key"], name="one_job_per_event")
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="job_tenant_status"),
            models.Index(fields=["tenant", "project_id", "created_at"], name="job_tenant_project"),
            models.Index(
                fields=["tenant", "project_id", "loop_key", "created_at"], name="job_tenant_loop"
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"job {self.uid} ({self.agent}, {self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class JobEvent(models.Model):
    """An append-only timeline entry (SPEC §6.6)."""

    class Kind(models.TextChoices):
        STATUS = "status"
        LOG = "log"
        TOOL_CALL = "tool_call"
        WARNING = "warning"
        FINAL = "final"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class JobToken(SecretsMixin, models.Model):
    """A GitLab project access token minted for one job: the per-job key or the clone token.

    The value is encrypted and bound to this row; ``gitlab_token_id`` is what revocation needs.
    ``gitlab_user_id`` is the token's GitLab user (its project bot user): kept after revocation,
    so that events that user caused are known as Mate's own (SPEC §5.2, T32).
    """

    SECRET_FIELDS = ("value",)

    class Kind(models.TextChoices):
        GITLAB_KEY = "gitlab_key"
        CLONE_TOKEN = "clone_token"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    gitlab_token_id = models.BigIntegerField(null=True, blank=True)
    gitlab_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    scopes = models.JSONField(default=list)
    access_level = models.PositiveSmallIntegerField(default=0)
    minted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    value_ciphertext = models.TextField(blank=True, default="", editable=False)
    value_set_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["minted_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} of job {self.job_id}"
