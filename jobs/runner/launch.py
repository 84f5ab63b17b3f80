"""Dispatch of one job (SPEC §6.2-§6.4): mint its credentials, choose its image, build its
environment, then create and start its hardened container.

``Run`` is filled step by step so that whoever finishes the job after a failure knows what exists
(a container to remove, secrets to redact); credentials are revoked by the caller either way.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from django.conf import settings

from jobs import timeline
from jobs.models import Job, JobEvent, JobToken
from jobs.runner import containers, hardening, images
from jobs.runner.env import build_env

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What one dispatch has made so far."""

    job: Job
    client: object = None
    container: object = None
    keep: bool = False
    secrets: tuple[str, ...] = ()
    base_secrets: tuple[str, ...] = field(default=(), repr=False)


def credentials():
    """``jobs.credentials``, looked up at call time (tests may stand in for it)."""
    return importlib.import_module("jobs.credentials")


def keeps_container(job: Job) -> bool:
    """``keep_container`` counts only in on-prem mode (SPEC §4.3)."""
    wanted = bool((job.snapshot.get("agent") or {}).get("keep_container"))
    return wanted and settings.MATE_DEPLOYMENT == "onprem"


def token_values(job: Job) -> tuple[str, ...]:
    """Plaintext of the job's GitLab tokens still held (for redaction only)."""
    values = []
    for token in JobToken.objects.filter(job=job, revoked_at__isnull=True):
        if token.has_secret("value"):
            values.append(token.reveal_secret("value"))
    return tuple(values)


def refresh_key(job: Job) -> tuple[str, ...] | None:
    """Keep the per-job key young; returns the new redaction set when tokens changed."""
    before = token_values(job)
    credentials().refresh_gitlab_key(job)
    after = token_values(job)
    return None if after == before else after


def _warn(job: Job, message: str, secrets: tuple[str, ...] = ()) -> None:
    timeline.append(job, JobEvent.Kind.WARNING, {"message": message}, secrets=secrets)


def _mint(run: Run) -> tuple[str, str]:
    """The job credential, the per-job key (server-side) and the clone token."""
    creds = credentials()
    job = run.job
    job_token = creds.issue_job_credential(job)
    run.base_secrets += (job_token,)
    creds.mint_gitlab_key(job)
    try:
        clone_token = creds.mint_clone_token(job)
    except creds.CredentialError as exc:
        _warn(job, f"no clone token: {exc}; the agent clones without one")
        clone_token = ""
    run.base_secrets += (clone_token,) if clone_token else ()
    return job_token, clone_token


def _choose_image(job: Job, client) -> str:
    try:
        repo = images.BotRepo(job)
    except Exception as exc:  # no bot, bad GitLab URL: the devcontainer cannot be read
        repo = images.Unreadable(exc)
    choice = images.select_image(job, repo)
    for message in choice.warnings:
        _warn(job, message)
    containers.local_image(client, choice.image, pull=choice.image != settings.MATE_AGENT_IMAGE)
    return choice.image


def launch(run: Run) -> None:
    """Mint, choose, create and start; fills ``run`` as it goes. Raises RunnerError or
    CredentialError with messages safe for the timeline."""
    job = run.job
    llm_key = job.tenant.reveal_secret("llm_key") or ""
    run.base_secrets = (llm_key,) if llm_key else ()
    run.secrets = run.base_secrets
    job_token, clone_token = _mint(run)
    run.secrets = run.base_secrets + token_values(job)
    run.client = client = containers.engine()
    image = _choose_image(job, client)
    runtime = containers.ensure_runtime_volume(client, settings.MATE_AGENT_IMAGE)
    base_url = containers.tool_base_url(client)  # also ensures the network
    env = build_env(
        job, job_token=job_token, clone_token=clone_token, tool_base_url=base_url, llm_key=llm_key
    )
    for message in env.warnings:
        _warn(job, message)
    run.keep = keeps_container(job)
    name = hardening.container_name(job.uid)
    kwargs = hardening.create_kwargs(
        name=name,
        image=image,
        environment=env.values,
        labels=hardening.labels(
            job_uid=job.uid,
            tenant_uid=job.tenant.uid,
            scope=settings.MATE_CONTAINER_SCOPE,
            keep=run.keep,
        ),
        plan=job.tenant.plan,
        runtime_volume=runtime,
        engine_cpus=containers.engine_cpus(client),
    )
    run.container = containers.create(client, kwargs)
    Job.objects.filter(pk=job.pk).update(
        image=image, container_name=name, container_id=run.container.id
    )
    job.image, job.container_name, job.container_id = image, name, run.container.id
    containers.start(run.container)
