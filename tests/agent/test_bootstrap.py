"""The bootstrap (jobs/agent/runtime/bin/mate-agent) end to end in the default image, against
stand-ins for git, the tool service, the MCP server and the LLM on the bridge gateway address."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import tarfile
import time

import pytest

from tests.agent.conftest import AGENT_DIR, HARDENED, contract_env
from tests.agent.standins import REPLY_TEXT

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

JOB_TOKEN = "mjt-job-credential-5b1e"


def _secrets(standins) -> list[bytes]:
    token = standins.clone_token
    return [
        token.encode(),
        base64.b64encode(f"oauth2:{token}".encode()),
        base64.b64encode(token.encode()),
    ]


def test_bootstrap_runs_the_agent_end_to_end(run_container, agent_images, standins):
    run = run_container(agent_images["agent"], environment=contract_env(standins))
    assert run.exit_code == 0, run.stderr

    # The clone: the git stand-in served it, with the token as basic-auth password, at MATE_REF.
    fetches = standins.seen("/git/project.git/git-upload-pack", "POST")
    assert fetches, "no clone reached the git stand-in"
    assert f"mate-agent: cloned at {standins.commits['feature']}" in run.stderr

    # _clone-done then _usage, with the job credential, in that order.
    tools = [r for r in standins.requests if r.path.startswith("/tools/")]
    assert [r.path for r in tools] == ["/tools/_clone-done", "/tools/_usage"]
    for request in tools:
        assert request.headers["authorization"] == f"Bearer {JOB_TOKEN}"
        assert request.headers["content-type"] == "application/json"

    # stdout is claude's stream-json, passed through line by line, ending with the result.
    lines = run.json_lines()
    assert lines[0]["type"] == "system" and lines[0]["subtype"] == "init"
    result = lines[-1]
    assert result["type"] == "result" and result["is_error"] is False
    assert result["result"] == REPLY_TEXT
    usage = tools[1].json()
    assert set(usage) == {"cost_usd", "usage", "num_turns"}
    assert usage["cost_usd"] == result["total_cost_usd"] and usage["cost_usd"] > 0
    assert usage["usage"] == result["usage"]
    assert usage["num_turns"] == result["num_turns"]

    # MCP: claude-code connected with the job credential.
    mcp = standins.seen("/mcp", "POST")
    assert mcp and all(r.headers["authorization"] == f"Bearer {JOB_TOKEN}" for r in mcp)
    assert any(r.json().get("method") == "initialize" for r in mcp)

    # The LLM saw the model, the system prompt and the task, with the tenant's key.
    asked = [r for r in standins.seen("/llm/v1/messages", "POST") if r.json().get("stream")]
    assert asked
    body = asked[-1].json()
    assert body["model"] == "claude-sonnet-4-5"
    assert "You are the stand-in reviewer." in json.dumps(body["system"])
    assert "please say hello" in json.dumps(body["messages"])
    assert asked[-1].headers["authorization"] == "Bearer llm-key-anthropic-91c2"

    # Bootstrap messages are prefixed; no secret is printed anywhere.
    ours = [line for line in run.stderr.splitlines() if line.startswith("mate-agent:")]
    assert any("clone reported done" in line for line in ours)
    assert any("usage reported" in line for line in ours)
    for secret in (*_secrets(standins), JOB_TOKEN.encode(), b"llm-key-anthropic-91c2"):
        assert secret.decode() not in run.stdout + run.stderr


WRAPPER = """#!/opt/mate/bin/busybox sh
# Stands in for claude: dumps what the agent could read, then runs the real claude.
B=/opt/mate/bin/busybox
$B cat /proc/self/environ > /out/claude.environ
for p in /proc/[0-9]*; do
  n=${p#/proc/}
  $B cat $p/environ > /out/environ.$n 2>/dev/null
  $B cat $p/cmdline > /out/cmdline.$n 2>/dev/null
done
git config --list --show-origin > /out/git-config.txt 2>&1
git rev-parse HEAD > /out/head.txt
$B tar -C /workspace -cf /out/workspace.tar .
$B tar -C "$HOME" -cf /out/home.tar .
$B tar -C /tmp -cf /out/tmp.tar .
exec /opt/mate/bin/claude "$@"
"""


@pytest.fixture
def relocated_runtime(tmp_path):
    """The bootstrap from the repository in a folder of its own whose `claude` is WRAPPER; its
    busybox and lib are the image's (the bootstrap finds its runtime next to itself)."""
    root = tmp_path / "runtime"
    (root / "bin").mkdir(parents=True)
    shutil.copy(AGENT_DIR / "runtime" / "bin" / "mate-agent", root / "bin" / "mate-agent")
    (root / "bin" / "claude").write_text(WRAPPER)
    os.symlink("/opt/mate/bin/busybox", root / "bin" / "busybox")
    os.symlink("/opt/mate/lib", root / "lib")
    for path in (root, root / "bin", root / "bin" / "mate-agent", root / "bin" / "claude"):
        path.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    return root, out


def test_clone_token_leaves_no_trace(run_container, agent_images, standins, relocated_runtime):
    root, out = relocated_runtime
    env = contract_env(
        standins,
        ANTHROPIC_AUTH_TOKEN=None,
        OPENROUTER_API_KEY="llm-key-openrouter-44d0",
        MATE_SYSTEM_PROMPT=None,
    )
    run = run_container(
        agent_images["agent"],
        entrypoint=["/opt/mate-test/bin/mate-agent"],
        environment=env,
        volumes={
            str(root): {"bind": "/opt/mate-test", "mode": "ro"},
            str(out): {"bind": "/out", "mode": "rw"},
        },
    )
    assert run.exit_code == 0, run.stderr
    assert (out / "head.txt").read_text().strip() == standins.commits["feature"]

    # claude's own environment: no clone token, no job credential; the LLM key as claude reads it.
    environ = dict(
        item.split("=", 1) for item in (out / "claude.environ").read_text().split("\0") if item
    )
    assert "MATE_CLONE_TOKEN" not in environ and "MATE_JOB_TOKEN" not in environ
    assert environ["ANTHROPIC_AUTH_TOKEN"] == "llm-key-openrouter-44d0"
    assert environ["ANTHROPIC_API_KEY"] == ""
    assert "OPENROUTER_API_KEY" not in environ
    assert environ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert environ["DISABLE_AUTOUPDATER"] == "1"
    asked = standins.seen("/llm/v1/messages", "POST")
    assert asked and asked[-1].headers["authorization"] == "Bearer llm-key-openrouter-44d0"

    # Nothing the agent can read holds the clone token: every process's environment and command
    # line, the git configuration, the workspace (the clone), home and /tmp.
    dumps = sorted(p for p in out.iterdir() if p.name.startswith(("environ.", "cmdline.")))
    assert any(p.name == "environ.1" for p in dumps)
    workspace = (out / "workspace.tar").read_bytes()
    names = tarfile.open(fileobj=io.BytesIO(workspace)).getnames()
    assert "./repo/feature.txt" in names and "./repo/.git/config" in names
    git_config = (out / "git-config.txt").read_text()
    assert f"remote.origin.url={standins.base}/git/project.git" in git_config
    for path in [*dumps, out / "git-config.txt", out / "home.tar", out / "tmp.tar"]:
        data = path.read_bytes()
        for secret in _secrets(standins):
            assert secret not in data, f"clone token found in {path.name}"
    for secret in _secrets(standins):
        assert secret not in workspace, "clone token found in the workspace"
        assert secret.decode() not in run.stdout + run.stderr


def test_an_anthropic_api_key_is_sent_as_x_api_key(run_container, agent_images, standins):
    key = "sk-ant-api03-standin-key"
    run = run_container(
        agent_images["agent"], environment=contract_env(standins, ANTHROPIC_AUTH_TOKEN=key)
    )
    assert run.exit_code == 0, run.stderr
    asked = standins.seen("/llm/v1/messages", "POST")
    assert asked and asked[-1].headers.get("x-api-key") == key
    assert "authorization" not in asked[-1].headers


def test_a_refused_clone_token_stops_the_job(run_container, agent_images, standins):
    env = contract_env(standins, MATE_CLONE_TOKEN="glpat-wrong-token")
    run = run_container(agent_images["agent"], environment=env)
    assert run.exit_code == 75
    assert "mate-agent: error: git clone failed" in run.stderr
    assert "glpat-wrong-token" not in run.stderr + run.stdout
    assert not standins.seen("/tools/")
    assert not standins.seen("/llm/")


def test_claudes_exit_code_and_usage_are_passed_on(run_container, agent_images, standins):
    standins.llm_status = 400
    run = run_container(agent_images["agent"], environment=contract_env(standins, MATE_REF=""))
    assert f"mate-agent: cloned at {standins.commits['main']}" in run.stderr
    assert run.exit_code != 0
    assert f"mate-agent: claude-code exited with {run.exit_code}" in run.stderr
    result = run.json_lines()[-1]
    assert result["type"] == "result" and result["is_error"] is True
    (usage,) = standins.seen("/tools/_usage", "POST")
    assert usage.json()["num_turns"] == result["num_turns"]


def test_docker_stop_reaches_claude(docker_client, agent_images, standins):
    """The bootstrap is PID 1: it passes SIGTERM on to claude-code instead of ignoring it."""
    standins.llm_delay = 60
    container = docker_client.containers.run(
        agent_images["agent"], detach=True, environment=contract_env(standins), **HARDENED
    )
    try:
        deadline = time.monotonic() + 60
        while not standins.seen("/llm/v1/messages", "POST") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert standins.seen("/llm/v1/messages", "POST"), "claude-code never asked the LLM"
        started = time.monotonic()
        container.stop(timeout=20)
        assert time.monotonic() - started < 10, "SIGTERM was not passed on"
        container.reload()
        assert container.attrs["State"]["ExitCode"] != 0
        err = container.logs(stdout=False, stderr=True).decode()
        assert "mate-agent: claude-code exited with" in err
    finally:
        container.remove(force=True)


def test_an_init_process_holding_the_clone_token_is_flagged(run_container, agent_images, standins):
    """docker-init (``--init``) as PID 1 keeps the container's first environment, the clone
    token included, readable by the agent: the bootstrap warns."""
    run = run_container(agent_images["agent"], environment=contract_env(standins), init=True)
    assert run.exit_code == 0, run.stderr
    assert "mate-agent: warning: PID 1 holds MATE_CLONE_TOKEN" in run.stderr


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"MATE_TASK": None}, 64, "MATE_TASK is not set"),
        ({"MATE_BACKEND": "aider"}, 64, "backend 'aider' is not supported"),
        ({"ANTHROPIC_AUTH_TOKEN": None}, 64, "no LLM key"),
        (
            {"MATE_CLONE_URL": "http://user:pw@example.invalid/x.git"},
            64,
            "MATE_CLONE_URL must not carry credentials",
        ),
    ],
)
def test_a_broken_environment_is_named(
    run_container, agent_images, standins, change, code, message
):
    run = run_container(agent_images["agent"], environment=contract_env(standins, **change))
    assert run.exit_code == code
    assert f"mate-agent: error: {message}" in run.stderr
    assert not standins.requests


def test_usage_parser_reads_only_top_level_members(run_container, agent_images, docker_client):
    line = json.dumps(
        {
            "type": "result",
            "result": 'text with "usage": {"x": 1}, braces } { and "total_cost_usd": 9',
            "num_turns": 3,
            "modelUsage": {"m": {"costUSD": 5, "usage": {"input_tokens": 1}}},
            "total_cost_usd": 0.0421,
            "usage": {"input_tokens": 12, "server_tool_use": {"web_search_requests": 0}},
        }
    )
    script = f"printf '%s\\n' '{line}' | /opt/mate/bin/busybox awk -f /opt/mate/lib/usage.awk"
    run = run_container(agent_images["agent"], entrypoint=["/bin/sh", "-c"], command=[script])
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout) == {
        "cost_usd": 0.0421,
        "usage": {"input_tokens": 12, "server_tool_use": {"web_search_requests": 0}},
        "num_turns": 3,
    }
