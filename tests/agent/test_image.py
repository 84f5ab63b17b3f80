"""The agent images: built from scratch and cached, the runtime's layout under /opt/mate, and
the runtime working read-only from a volume in an image that is not its own."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.agent.conftest import BUILD_SH, ROOT, pinned_claude_version

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]


def test_images_carry_their_recipe_and_a_rebuild_is_a_no_op(docker_client, agent_images):
    for image in agent_images.values():
        labels = docker_client.images.get(image).labels
        assert len(labels.get("org.mate.recipe", "")) == 64, image
    before = {name: docker_client.images.get(image).id for name, image in agent_images.items()}
    started = time.monotonic()
    done = subprocess.run(["bash", str(BUILD_SH)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30, "a cached build must be quick"
    assert done.stderr.count("is up to date") == 3, done.stderr
    after = {name: docker_client.images.get(image).id for name, image in agent_images.items()}
    assert after == before


def test_default_image_runs_as_mate_with_the_bootstrap_as_entrypoint(docker_client, agent_images):
    config = docker_client.images.get(agent_images["agent"]).attrs["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["/opt/mate/bin/mate-agent"]
    assert config["WorkingDir"] == "/workspace"
    assert config["Labels"]["org.mate.claude-code.version"] == pinned_claude_version()


def test_claude_version_in_a_hardened_container(run_container, agent_images):
    run = run_container(
        agent_images["agent"], entrypoint=["/opt/mate/bin/claude"], command=["--version"]
    )
    assert run.exit_code == 0, run.stderr
    assert run.stdout.strip() == f"{pinned_claude_version()} (Claude Code)"


def test_runtime_layout_is_root_owned_and_read_only(run_container, agent_images):
    script = (
        "cd /opt/mate && find . | sort && stat -c '%U:%G %a %n' bin/* lib/*"
        " && test -d /workspace -a -d /home/mate"
        " && stat -c '%u %a %n' /workspace /home/mate"
        " && /opt/mate/bin/busybox true && git --version"
        " && (touch /opt/mate/bin/x 2>/dev/null && echo WRITABLE || echo read-only)"
    )
    run = run_container(agent_images["agent"], entrypoint=["/bin/sh", "-c"], command=[script])
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:7] == [
        ".",
        "./bin",
        "./bin/busybox",
        "./bin/claude",
        "./bin/mate-agent",
        "./lib",
        "./lib/usage.awk",
    ]
    assert "root:root 755 bin/claude" in lines
    assert "root:root 755 bin/mate-agent" in lines
    assert "root:root 644 lib/usage.awk" in lines
    assert "1000 700 /workspace" in lines and "1000 700 /home/mate" in lines
    assert lines[-1] == "read-only"


@pytest.fixture
def runtime_volume(docker_client, agent_images):
    """A volume filled from /opt/mate of the default image, as Mate fills it."""
    name = f"mate-test-runtime-{uuid.uuid4().hex[:8]}"
    volume = docker_client.volumes.create(name, labels={"mate.test": "agent"})
    docker_client.containers.run(
        agent_images["agent"],
        entrypoint=["/opt/mate/bin/busybox", "true"],
        volumes={name: {"bind": "/opt/mate", "mode": "rw"}},
        remove=True,
    )
    yield name
    for container in docker_client.containers.list(all=True, filters={"volume": name}):
        container.remove(force=True)
    volume.remove(force=True)


def test_runtime_runs_read_only_from_a_volume_in_another_image(
    run_container, agent_images, runtime_volume
):
    """The base image has git and glibc but no runtime of its own: mounted read-only at
    /opt/mate, claude-code runs and the bootstrap checks its environment."""
    mount = {runtime_volume: {"bind": "/opt/mate", "mode": "ro"}}
    version = run_container(
        agent_images["base"],
        entrypoint=["/opt/mate/bin/claude"],
        command=["--version"],
        volumes=mount,
        environment={"HOME": "/home/mate"},
    )
    assert version.exit_code == 0, version.stderr
    assert version.stdout.startswith(pinned_claude_version())
    bootstrap = run_container(
        agent_images["base"], entrypoint=["/opt/mate/bin/mate-agent"], volumes=mount
    )
    assert bootstrap.exit_code == 64
    assert "mate-agent: error: MATE_JOB_TOKEN is not set" in bootstrap.stderr


def test_bootstrap_names_what_an_unfit_image_lacks(run_container, agent_images, runtime_volume):
    """The test image is busybox alone: no glibc, no git; the bootstrap says so."""
    env = {
        "MATE_JOB_TOKEN": "t",
        "MATE_TOOL_URL": "http://127.0.0.1:9/tools",
        "MATE_MCP_URL": "http://127.0.0.1:9/mcp",
        "MATE_CLONE_URL": "http://127.0.0.1:9/x.git",
        "MATE_MODEL": "m",
        "MATE_TASK": "t",
        "ANTHROPIC_AUTH_TOKEN": "k",
    }
    run = run_container(
        agent_images["test"],
        entrypoint=["/opt/mate/bin/mate-agent"],
        volumes={runtime_volume: {"bind": "/opt/mate", "mode": "ro"}},
        environment=env,
    )
    assert run.exit_code == 69
    assert "needs a glibc-based image" in run.stderr


def test_test_image_probe_shows_the_hardening(run_container, agent_images):
    run = run_container(agent_images["test"], environment={"TEST_AGENT_MODE": "probe"})
    assert run.exit_code == 0, run.stderr
    (probe,) = run.json_lines()
    assert probe["type"] == "probe"
    assert (probe["uid"], probe["gid"]) == (1000, 1000)
    assert probe["cap_eff"] == probe["cap_bnd"] == "0000000000000000"
    assert probe["no_new_privs"] == 1
    assert probe["root_writable"] is False and probe["opt_mate_writable"] is False
    assert probe["workspace_writable"] and probe["home_writable"] and probe["tmp_writable"]
    assert probe["docker_socket"] is False
    assert probe["pids_max"] == 256


def test_test_image_speaks_the_runtime_protocol(run_container, agent_images, standins):
    env = {
        "MATE_JOB_TOKEN": "job-cred",
        "MATE_TOOL_URL": f"{standins.base}/tools",
        "MATE_TASK": "please fail [test-agent:exit:3]",
    }
    run = run_container(agent_images["test"], environment=env)
    assert run.exit_code == 3
    assert run.json_lines()[-1]["type"] == "result"
    (done,) = standins.seen("/tools/_clone-done", "POST")
    (usage,) = standins.seen("/tools/_usage", "POST")
    assert done.headers["authorization"] == usage.headers["authorization"] == "Bearer job-cred"
    assert usage.json()["cost_usd"] == 0.0123
