"""The real claude-code CLI against the stand-in (loopback only).

Skipped, loudly, when no claude-code executable is found. Install one with
``npm install --prefix var/claude-code @anthropic-ai/claude-code`` (var/ is not tracked) or point
``MATE_CLAUDE_CODE`` at an executable.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .mcp_stub import TOKEN, MCPStub

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
NOTE_TOOLS = "mcp__mate__get_job_context,mcp__mate__get_issue,mcp__mate__create_issue_note"


@functools.cache
def claude_executable() -> str | None:
    if os.environ.get("MATE_CLAUDE_CODE"):
        return os.environ["MATE_CLAUDE_CODE"]
    patterns = ("var/**/claude-code/bin/claude.exe", "jobs/agent/**/claude.exe")
    for pattern in patterns:
        found = sorted(glob.glob(str(REPO / pattern), recursive=True))
        if found:
            return found[0]
    # The executable jobs/agent/build.sh downloaded (pinned) for the agent image.
    agent_cache = os.environ.get("MATE_AGENT_CACHE") or os.path.expanduser("~/.cache/mate-agent")
    found = sorted(glob.glob(os.path.join(agent_cache, "claude-code-*", "claude")))
    if found:
        return found[-1]
    if shutil.which("claude"):
        return shutil.which("claude")
    try:
        out = subprocess.run(
            ["find", "/", "-name", "claude.exe", "-path", "*claude-code*"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except subprocess.TimeoutExpired:
        return None
    return out.splitlines()[0] if out.strip() else None


@pytest.fixture
def claude(tmp_path):
    exe = claude_executable()
    if not exe:
        pytest.skip(
            "NO claude-code EXECUTABLE FOUND: the real-CLI test of the LLM stand-in did not run. "
            "Install it with `npm install --prefix var/claude-code @anthropic-ai/claude-code`."
        )

    def run(sim, *args: str) -> tuple[list[dict], subprocess.CompletedProcess]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "ANTHROPIC_BASE_URL": sim.url,
            "ANTHROPIC_API_KEY": "test-key",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        command = [exe, *args, "--output-format", "stream-json", "--verbose"]
        done = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
        )
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return lines, done

    return run


def test_hello(claude, llm_sim):
    llm_sim.script = "hello"
    lines, done = claude(llm_sim, "-p", "hi")
    assert done.returncode == 0, done.stderr
    assert lines[0]["type"] == "system" and lines[0]["subtype"] == "init"
    result = lines[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert result["is_error"] is False and result["result"] == "Hello from the stand-in."
    assert result["num_turns"] == 1
    calls = [(r.method, r.path, r.query) for r in llm_sim.requests]
    assert calls == [("HEAD", "/", ""), ("POST", "/v1/messages", "beta=true")]
    request = llm_sim.message_requests()[0]
    assert request.body["stream"] is True and request.key_header == "x-api-key"
    assert "test-key" not in repr(llm_sim.requests)


def test_note_script_through_mcp(claude, llm_sim, tmp_path):
    stub = MCPStub()
    try:
        config = tmp_path / "mcp.json"
        server = {"type": "http", "url": stub.url, "headers": {"Authorization": f"Bearer {TOKEN}"}}
        config.write_text(json.dumps({"mcpServers": {"mate": server}}))
        lines, done = claude(
            llm_sim,
            *("-p", "Look at the issue.", "--mcp-config", str(config), "--strict-mcp-config"),
            *("--allowedTools", NOTE_TOOLS),
        )
    finally:
        stub.stop()
    assert done.returncode == 0, done.stderr
    assert lines[-1]["result"] == "Done." and lines[-1]["num_turns"] == 4
    assert stub.calls == [
        ("get_job_context", {}),
        ("get_issue", {"iid": 7}),
        ("create_issue_note", {"iid": 7, "body": "Mate looked at: Printer on fire"}),
    ]
    assert [r.reply["step"] for r in llm_sim.message_requests()] == [0, 1, 2, 3]


def test_forbidden_tools_are_refused_by_the_cli_and_the_script_goes_on(claude, llm_sim):
    llm_sim.script = "forbidden"
    lines, done = claude(llm_sim, "-p", "Try things.")
    assert done.returncode == 0, done.stderr
    assert lines[-1]["subtype"] == "success" and lines[-1]["num_turns"] == 4
    last_user = llm_sim.message_requests()[-1].body["messages"][-1]["content"][0]
    assert last_user["type"] == "tool_result" and last_user["is_error"] is True
    assert "mcp__mate__approve_merge_request" in json.dumps(last_user["content"])
