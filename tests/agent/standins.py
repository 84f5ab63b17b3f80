"""Local stand-ins for what a job container talks to, on one HTTP server bound to the Docker bridge
gateway address (reachable from containers on the default bridge, from nowhere else):

- ``/git/<name>.git/...``: git smart HTTP through ``git http-backend``, basic auth whose password
  must be the clone token (any user name, as GitLab does);
- ``/tools/_clone-done``, ``/tools/_usage``: the tool service's runtime endpoints;
- ``/mcp``: a minimal MCP server (Streamable HTTP, JSON responses) with no tools;
- ``/llm``: the Anthropic Messages API as claude-code uses it (``HEAD``, streamed replies).

Every request is recorded so that tests can assert what each party saw.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
REPLY_TEXT = "Stand-in model: the task is done."


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class StandIns:
    host: str
    git_root: Path
    clone_token: str
    llm_status: int = 200
    llm_delay: float = 0.0
    commits: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> StandIns:
        handler = type("Handler", (_Handler,), {"standins": self})
        self._server = ThreadingHTTPServer((self.host, 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def seen(self, prefix: str, method: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(prefix) and (method is None or r.method == method)
            ]


class _Handler(BaseHTTPRequestHandler):
    standins: StandIns
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._body() if self.command == "POST" else b""
        request = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        self.standins.record(request)
        path = self.path.split("?", 1)[0]
        if self.command == "HEAD":
            return self._send(200, b"", "text/plain")
        if path.startswith("/git/"):
            return self._git(request)
        if path.startswith("/tools/_"):
            return self._send(200, b"{}", "application/json")
        if path == "/mcp":
            return self._mcp(request)
        if path.startswith("/llm/"):
            return self._llm(request)
        return self._send(404, b"not found\n", "text/plain")

    do_GET = do_POST = do_HEAD = _handle

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # -- git smart HTTP ----------------------------------------------------------------------
    def _git(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        password = None
        if auth.startswith("Basic "):
            password = base64.b64decode(auth[6:]).decode().partition(":")[2]
        if password != self.standins.clone_token:
            return self._send(
                401, b"Access denied\n", "text/plain", {"WWW-Authenticate": 'Basic realm="git"'}
            )
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.standins.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.standins.git_root),
            "PATH_INFO": path[len("/git") :],
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_USER": "clone",
            "REMOTE_ADDR": self.client_address[0],
        }
        for header in ("git-protocol", "content-encoding"):
            if header in request.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = request.headers[header]
        out = subprocess.run(
            [GIT_HTTP_BACKEND], input=request.body, env=env, capture_output=True, timeout=60
        ).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, {}
        for line in head.decode().splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key] = value.strip()
        content_type = headers.pop("Content-Type", "application/octet-stream")
        self._send(status, payload, content_type, headers)

    # -- MCP --------------------------------------------------------------------------------
    def _mcp(self, request: Request) -> None:
        if self.command != "POST":
            return self._send(405, b"", "text/plain")
        message = request.json()
        if "id" not in message:
            return self._send(202, b"", "text/plain")
        method = message.get("method")
        if method == "initialize":
            result = {
                "protocolVersion": message["params"].get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "mate-standin", "version": "0"},
            }
        elif method == "tools/list":
            result = {"tools": []}
        else:
            result = {}
        reply = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        self._send(200, json.dumps(reply).encode(), "application/json")

    # -- Anthropic Messages API ---------------------------------------------------------------
    def _llm(self, request: Request) -> None:
        if self.command != "POST":
            return self._send(200, b"{}", "application/json")
        if self.standins.llm_delay:
            time.sleep(self.standins.llm_delay)
        if "count_tokens" in self.path:
            return self._send(200, b'{"input_tokens": 10}', "application/json")
        if self.standins.llm_status != 200:
            error = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "stand-in refuses"},
            }
            return self._send(
                self.standins.llm_status, json.dumps(error).encode(), "application/json"
            )
        asked = request.json() or {}
        model = asked.get("model", "claude-sonnet-4-5")
        usage = {"input_tokens": 1000, "output_tokens": 20}
        message = {
            "id": "msg_standin",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
        }
        if not asked.get("stream"):
            message.update(
                content=[{"type": "text", "text": REPLY_TEXT}], stop_reason="end_turn", usage=usage
            )
            return self._send(200, json.dumps(message).encode(), "application/json")
        events = [
            ("message_start", {"type": "message_start", "message": message}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": REPLY_TEXT},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body.encode())
        self.wfile.flush()


def make_repo(root: Path) -> dict[str, str]:
    """A bare repository ``root/project.git`` with ``main`` and a ``feature`` branch; returns the
    commit ids of both."""
    work = root / "work"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }

    def git(*args: str, cwd: Path = work) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    work.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    (work / "README.md").write_text("# project\n")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    main = git("rev-parse", "HEAD")
    git("checkout", "-q", "-b", "feature")
    (work / "feature.txt").write_text("on the feature branch\n")
    git("add", ".")
    git("commit", "-q", "-m", "feature")
    feature = git("rev-parse", "HEAD")
    git("checkout", "-q", "main")  # the default branch of the bare clone
    git("clone", "-q", "--bare", str(work), str(root / "project.git"), cwd=root)
    return {"main": main, "feature": feature}
