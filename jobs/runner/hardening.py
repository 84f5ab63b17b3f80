"""The ONE hardening template of a job container (SPEC §6.3, THREATS T14, T15).

Everything that makes a job container safe is decided here and nowhere else. The inputs that
vary per job are the name, the image, the environment, the labels, the plan tier and the runtime
volume; nothing from a tenant's or a repository's configuration reaches the security settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Plan

NETWORK = "mate-jobs"
USER = "1000:1000"
RUNTIME_PATH = "/opt/mate"
ENTRYPOINT = f"{RUNTIME_PATH}/bin/mate-agent"
WORKDIR = "/workspace"
HOME = "/home/mate"
PIDS_LIMIT = 256
NAME_PREFIX = "mate-job-"

# Label keys: leftovers are found (and reaped) by these.
LABEL_JOB = "mate.job"
LABEL_TENANT = "mate.tenant"
LABEL_SCOPE = "mate.scope"
LABEL_KEEP = "mate.keep"

GIB = 1024**3

# Writable places, all tmpfs owned by the agent's uid. Their pages count against the memory
# limit, so a runaway writer is bounded twice. ``exec``: build tools run from all three.
_TMPFS_FLAGS = "rw,exec,nosuid,nodev,uid=1000,gid=1000"
TMPFS = {
    WORKDIR: f"{_TMPFS_FLAGS},mode=0700,size=2g",
    HOME: f"{_TMPFS_FLAGS},mode=0700,size=512m",
    "/tmp": f"{_TMPFS_FLAGS},mode=1777,size=512m",  # noqa: S108 (inside the container)
}


@dataclass(frozen=True)
class Resources:
    cpus: float
    memory_bytes: int


PLAN_RESOURCES: dict[str, Resources] = {
    Plan.STARTER: Resources(cpus=1, memory_bytes=2 * GIB),
    Plan.PLUS: Resources(cpus=1, memory_bytes=2 * GIB),
    Plan.ENTERPRISE: Resources(cpus=2, memory_bytes=4 * GIB),
}


def resources_for(plan: str) -> Resources:
    """The plan's CPU and memory; an unknown plan gets the smallest tier."""
    return PLAN_RESOURCES.get(plan, PLAN_RESOURCES[Plan.STARTER])


def container_name(job_uid: object) -> str:
    """One name per job, so a second launch of the same job collides instead of running twice."""
    return f"{NAME_PREFIX}{job_uid}"


def labels(*, job_uid: object, tenant_uid: object, scope: str, keep: bool = False) -> dict:
    found = {LABEL_JOB: str(job_uid), LABEL_TENANT: str(tenant_uid), LABEL_SCOPE: scope}
    if keep:
        found[LABEL_KEEP] = "1"
    return found


def create_kwargs(
    *,
    name: str,
    image: str,
    environment: dict[str, str],
    labels: dict[str, str],
    plan: str,
    runtime_volume: str,
    engine_cpus: float | None = None,
) -> dict:
    """Keyword arguments for ``docker.containers.create``: the complete, fixed template.

    ``engine_cpus`` caps the CPU quota at what the engine has (Docker refuses more).
    """
    res = resources_for(plan)
    cpus = min(res.cpus, engine_cpus) if engine_cpus else res.cpus
    return {
        "name": name,
        "image": image,
        "entrypoint": [ENTRYPOINT],
        "environment": dict(environment),
        "labels": dict(labels),
        "user": USER,
        "working_dir": WORKDIR,
        "privileged": False,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": dict(TMPFS),
        "volumes": {runtime_volume: {"bind": RUNTIME_PATH, "mode": "ro"}},
        "network": NETWORK,
        "ipc_mode": "private",
        # No docker-init: as PID 1 it would keep the container's first environment, clone token
        # included, readable in /proc/1/environ for the whole job. The bootstrap is PID 1
        # itself, forwards SIGTERM and reaps children, and re-executes without the token.
        "init": False,
        "pids_limit": PIDS_LIMIT,
        "mem_limit": res.memory_bytes,
        "memswap_limit": res.memory_bytes,  # no swap beyond the memory limit
        "nano_cpus": int(cpus * 1_000_000_000),
        "log_config": {"type": "json-file", "config": {"max-size": "20m", "max-file": "2"}},
        "stdin_open": False,
        "tty": False,
    }
