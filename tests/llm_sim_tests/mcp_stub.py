"""A minimal MCP-over-HTTP server (JSON responses) with three fake Mate tools, so the real
claude-code CLI can run the ``note`` script end to end in these tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "stub-job-token"
CONTEXT = {"event": "issue_opened", "project": {"id": 1}, "object": {"kind": "issue", "iid": 7}}
ISSUE = {"iid": 7, "title": "Printer on fire", "labels": []}
TOOLS = ("get_job_context", "get_issue", "create_issue_note")


class MCPStub:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []  # (tool, arguments)
        self.methods: list[str] = []
        handler = type("BoundHandler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/mcp"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def call(self, name: str, arguments: dict) -> dict:
        self.calls.append((name, arguments))
        result = {"get_job_context": CONTEXT, "get_issue": ISSUE}.get(name, {"id": 1})
        return {"content": [{"type": "text", "text": json.dumps(result)}], "isError": False}


class _Handler(BaseHTTPRequestHandler):
    stub: MCPStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._send(405, b"")

    def do_POST(self):
        message = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.stub.methods.append(message.get("method"))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, b"")
        if "id" not in message:
            return self._send(202, b"")
        result = self._result(message["method"], message.get("params") or {})
        body = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        self._send(200, json.dumps(body).encode(), "application/json")

    def _result(self, method: str, params: dict) -> dict:
        if method == "initialize":
            return {
                "protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "mate-stub", "version": "0"},
            }
        if method == "tools/list":
            schema = {"type": "object", "additionalProperties": True}
            return {"tools": [{"name": n, "description": n, "inputSchema": schema} for n in TOOLS]}
        if method == "tools/call":
            return self.stub.call(params["name"], params.get("arguments") or {})
        return {}

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
