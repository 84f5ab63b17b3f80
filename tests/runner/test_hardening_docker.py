"""T14 on a real engine: every job container matches the one hardening template, whatever the
job's configuration says, and a probe inside it sees no capabilities, NoNewPrivs, a non-root user
and no Docker socket."""

from __future__ import annotations

import pytest

from jobs.models import JobStatus
from jobs.runner import hardening, launch
from jobs.services import lifecycle
from tests.runner.helpers import events, log_lines

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

GIB = 1024**3


def _launched(world, plan: str, **agent):
    world.tenant.plan = plan
    world.tenant.save(update_fields=["plan"])
    job = world.job("sleep 30", **agent)
    job.refresh_from_db()
    run = launch.Run(job)
    launch.launch(run)
    run.container.reload()
    return job, run


def _assert_template(attrs: dict, *, memory: int, cpus: float) -> None:
    host = attrs["HostConfig"]
    assert host["Privileged"] is False
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True
    assert host["NetworkMode"] == hardening.NETWORK
    assert host["PidsLimit"] == hardening.PIDS_LIMIT
    assert host["Memory"] == memory and host["MemorySwap"] == memory
    assert host["NanoCpus"] == int(cpus * 1e9)
    assert not host["Init"]  # docker-init would keep the clone token in /proc/1/environ
    assert set(host["Tmpfs"]) == {"/workspace", "/home/mate", "/tmp"}
    assert all("uid=1000" in opts and "size=" in opts for opts in host["Tmpfs"].values())
    assert not host.get("Devices") and not host.get("VolumesFrom")
    assert attrs["Config"]["User"] == "1000:1000"
    assert attrs["Config"]["Entrypoint"] == [hardening.ENTRYPOINT]
    (mount,) = attrs["Mounts"]  # the runtime volume, read-only, and nothing else
    assert (mount["Type"], mount["Destination"], mount["RW"]) == ("volume", "/opt/mate", False)
    (bind,) = host["Binds"]  # a named volume, never a host path or the Docker socket
    assert bind.startswith("mate-runtime-") and bind.endswith(":/opt/mate:ro")
    networks = attrs["NetworkSettings"]["Networks"]
    assert list(networks) == [hardening.NETWORK]


@pytest.mark.parametrize(
    "plan,memory,cpus", [("starter", 2 * GIB, 1), ("plus", 2 * GIB, 1), ("enterprise", 4 * GIB, 2)]
)
def test_inspect_matches_the_template_for_each_plan(
    runner_world, docker_client, plan, memory, cpus
):
    engine_cpus = docker_client.info()["NCPU"]
    job, run = _launched(runner_world, plan)
    try:
        _assert_template(run.container.attrs, memory=memory, cpus=min(cpus, engine_cpus))
        labels = run.container.labels
        assert labels[hardening.LABEL_JOB] == str(job.uid)
        assert labels[hardening.LABEL_TENANT] == str(runner_world.tenant.uid)
        network = docker_client.networks.get(hardening.NETWORK)
        assert network.attrs["Driver"] == "bridge"
        assert network.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    finally:
        run.container.remove(force=True)
        lifecycle._revoke(job)


def test_configuration_cannot_loosen_the_template(runner_world):
    hostile = {
        "privileged": True,
        "cap_add": ["SYS_ADMIN"],
        "network": "host",
        "volumes": {"/var/run/docker.sock": {"bind": "/var/run/docker.sock"}},
        "env": {"MATE_TOOL_URL": "http://evil.example/", "OPENROUTER_API_KEY": "stolen", "X": "1"},
    }
    job, run = _launched(runner_world, "starter", **hostile)
    try:
        _assert_template(run.container.attrs, memory=2 * GIB, cpus=1)
        env = dict(v.split("=", 1) for v in run.container.attrs["Config"]["Env"])
        assert env["MATE_TOOL_URL"].endswith("/tools/") and "evil" not in env["MATE_TOOL_URL"]
        assert env["OPENROUTER_API_KEY"] != "stolen" and env["X"] == "1"
        warnings = " ".join(e["message"] for e in events(job, "warning"))
        assert "MATE_TOOL_URL ignored" in warnings and "OPENROUTER_API_KEY ignored" in warnings
    finally:
        run.container.remove(force=True)
        lifecycle._revoke(job)


PROBE = (
    "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status; "
    'echo "uid=$(id -u) gid=$(id -g)"; '
    "test -e /var/run/docker.sock && echo docker-sock=present || echo docker-sock=absent; "
    "touch /etc/probe 2>/dev/null && echo rootfs=writable || echo rootfs=readonly; "
    "touch /opt/mate/probe 2>/dev/null && echo runtime=writable || echo runtime=readonly; "
    "for d in /workspace /home/mate /tmp; do touch $d/probe && echo $d=writable; done"
)


def test_probe_inside_the_container(runner_world):
    job = runner_world.job(PROBE)
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, events(job, "warning")
    lines = log_lines(job)
    assert "CapEff:\t0000000000000000" in lines
    assert "CapPrm:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines
    assert "uid=1000 gid=1000" in lines
    assert "docker-sock=absent" in lines
    assert "rootfs=readonly" in lines and "runtime=readonly" in lines
    assert {"/workspace=writable", "/home/mate=writable", "/tmp=writable"} <= set(lines)


def test_pids_limit_caps_a_fork_bomb(runner_world):
    # The bomb forks until the kernel refuses; counting /proc needs no fork (shell builtins).
    bomb = "(while true; do sleep 30 & done) 2>/dev/null"
    count = "n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n"
    job = runner_world.job(f"{bomb}; {count}", timeout=60)
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    (line,) = [line for line in log_lines(job) if line.startswith("procs=")]
    assert hardening.PIDS_LIMIT - 10 <= int(line.split("=")[1]) <= hardening.PIDS_LIMIT
    assert (job.status, job.exit_code) == (JobStatus.DONE, 0)
