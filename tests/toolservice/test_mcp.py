"""MCP transport (SPEC §7.1): the exchange claude-code performs (notes/claude-code.md), byte-level
protocol answers, and the official ``mcp`` Python SDK as a real client on a live server."""

from __future__ import annotations

import json

import anyio
import pytest
from django.test import Client

from tests.toolservice.conftest import LLM_CANARY
from toolservice.models import ToolCall

ACCEPT = "application/json, text/event-stream"


def rpc(token, message, **headers):
    client = Client()
    extra = {"HTTP_ACCEPT": ACCEPT, **headers}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    body = message if isinstance(message, str) else json.dumps(message)
    return client.post("/mcp", body, content_type="application/json", **extra)


def request(method, params=None, rid=1):
    message = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        message["params"] = params
    return message


INITIALIZE = request(
    "initialize",
    {
        "protocolVersion": "2025-11-25",
        "capabilities": {"roots": {}},
        "clientInfo": {"name": "claude-code", "version": "2.1.197"},
    },
    rid=0,
)


@pytest.mark.django_db
def test_claude_code_exchange(world):
    job, token = world.job(("read", "comment"))
    init = rpc(token, INITIALIZE)
    assert init.status_code == 200 and init["Content-Type"] == "application/json"
    result = init.json()["result"]
    assert init.json()["id"] == 0
    assert result["protocolVersion"] == "2025-11-25"
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["serverInfo"]["name"] == "mate"
    assert "mcp-session-id" not in init  # stateless

    version = {"HTTP_MCP_PROTOCOL_VERSION": "2025-11-25"}
    note = rpc(token, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **version)
    assert (note.status_code, note.content) == (202, b"")

    stream = Client().get(
        "/mcp", HTTP_ACCEPT="text/event-stream", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert stream.status_code == 405 and stream["Allow"] == "POST"

    listed = rpc(token, request("tools/list", rid=1), **version).json()["result"]["tools"]
    rest = world.client(token).get("/tools/").json()["tools"]
    assert [t["name"] for t in listed] == [t["name"] for t in rest]
    assert all(t["inputSchema"]["type"] == "object" for t in listed)
    annotations = {t["name"]: t["annotations"]["readOnlyHint"] for t in listed}
    assert annotations["get_issue"] is True and annotations["create_issue_note"] is False

    params = {"name": "get_issue", "arguments": {"iid": 1}, "_meta": {"claudecode/toolUseId": "t1"}}
    called = rpc(token, request("tools/call", params, rid=2), **version).json()
    assert called["id"] == 2 and called["result"]["isError"] is False
    content = called["result"]["content"]
    assert content[0]["type"] == "text"
    assert json.loads(content[0]["text"])["title"] == "Login is broken"
    row = ToolCall.objects.get(job=job)
    assert (row.tool, row.transport, row.outcome) == ("get_issue", "mcp", "ok")


@pytest.mark.django_db
def test_tool_errors_are_results_with_is_error(world):
    _, token = world.job(("read", "comment"))
    params = {"name": "create_issue_note", "arguments": {"body": f"leak {LLM_CANARY}"}}
    answer = rpc(token, request("tools/call", params)).json()["result"]
    assert answer["isError"] is True
    error = json.loads(answer["content"][0]["text"])["error"]
    assert error["category"] == "validation"
    assert LLM_CANARY not in json.dumps(answer)
    missing = rpc(token, request("tools/call", {"name": "get_issue", "arguments": {"iid": 77}}))
    assert json.loads(missing.json()["result"]["content"][0]["text"])["error"]["category"] == (
        "not_found"
    )
    assert not world.sim.issue(world.project, 1).notes


@pytest.mark.django_db
def test_hidden_and_unknown_tools_are_identical_over_mcp(world):
    _, token = world.job(("read",))
    answers = [
        rpc(token, request("tools/call", {"name": name, "arguments": {"iid": 1}}))
        for name in (
            "merge_merge_request",
            "create_issue_note",
            "no_such_tool",
            "approve_merge_request",
        )
    ]
    assert len({(a.status_code, a.content) for a in answers}) == 1
    error = answers[0].json()["error"]
    assert error == {"code": -32602, "message": "unknown tool"}


@pytest.mark.django_db
def test_protocol_edges(world):
    _, token = world.job(("read",))
    assert rpc(token, request("ping")).json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
    old = rpc(
        token, {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "1999-01-01"}}
    )
    assert old.json()["result"]["protocolVersion"] == "2025-11-25"
    assert rpc(token, request("server/discover")).json()["error"]["code"] == -32601
    assert rpc(token, request("resources/list")).json()["error"]["code"] == -32601
    parse = rpc(token, "{nope")
    assert (parse.status_code, parse.json()["error"]["code"]) == (400, -32700)
    batch = rpc(token, [request("ping")])
    assert (batch.status_code, batch.json()["error"]["code"]) == (400, -32600)
    assert rpc(token, request("tools/call", {"arguments": {}})).json()["error"]["code"] == -32602
    bad_version = rpc(token, request("ping"), HTTP_MCP_PROTOCOL_VERSION="2099-01-01")
    assert bad_version.status_code == 400
    response = rpc(token, {"jsonrpc": "2.0", "id": 5, "result": {}})  # a client's response
    assert (response.status_code, response.content) == (202, b"")
    assert Client().delete("/mcp").status_code == 405


@pytest.mark.django_db
def test_same_authorization_as_rest(world):
    job, token = world.job(("read",))
    anonymous = rpc(None, INITIALIZE)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["message"].startswith("auth")
    job.status = "DONE"
    job.save(update_fields=["status"])
    assert rpc(token, request("tools/list")).status_code == 401
    _, live = world.job(("read",))
    origin = rpc(live, request("ping"), HTTP_ORIGIN="http://evil.example")
    assert origin.status_code == 403


async def _sdk_session(url: str, token: str) -> dict:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.shared.exceptions import MCPError

    out: dict = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                out["version"] = init.protocol_version
                out["server"] = init.server_info.name
                await session.send_ping()
                out["tools"] = [t.name for t in (await session.list_tools()).tools]
                result = await session.call_tool("get_issue", {"iid": 1})
                out["issue"] = json.loads(result.content[0].text)
                out["issue_error"] = result.is_error
                note = await session.call_tool("create_issue_note", {"body": "Via MCP."})
                out["note_error"] = note.is_error
                leak = await session.call_tool("create_issue_note", {"body": LLM_CANARY})
                out["leak"] = (leak.is_error, json.loads(leak.content[0].text))
                try:
                    await session.call_tool("merge_merge_request", {})
                except MCPError as exc:
                    out["hidden"] = (exc.error.code, exc.error.message)
    return out


@pytest.mark.django_db(transaction=True)
def _run_in_own_thread(func, *args):
    """anyio.run in a fresh thread: the session-wide Playwright browser of the browser tests
    keeps an event loop running in the main thread, and a thread can run only one loop."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, func, *args).result(timeout=120)


def test_official_mcp_sdk_client_lists_and_calls_tools(world, live_server):
    job, token = world.job(("read", "comment"))
    out = _run_in_own_thread(_sdk_session, f"{live_server.url}/mcp", token)
    assert out["version"] == "2025-11-25" and out["server"] == "mate"
    assert out["tools"] == [t["name"] for t in world.client(token).get("/tools/").json()["tools"]]
    assert "merge_merge_request" not in out["tools"]
    assert out["issue"]["title"] == "Login is broken" and out["issue_error"] is False
    assert out["note_error"] is False
    assert [n.body for n in world.sim.issue(world.project, 1).notes] == ["Via MCP."]
    assert out["leak"][0] is True and out["leak"][1]["error"]["category"] == "validation"
    assert out["hidden"] == (-32602, "unknown tool")
    rows = ToolCall.objects.filter(job=job, transport="mcp").order_by("id")
    assert [(r.tool, r.outcome) for r in rows] == [
        ("get_issue", "ok"),
        ("create_issue_note", "ok"),
        ("create_issue_note", "denied"),
        ("merge_merge_request", "denied"),
    ]
