"""The HTTP server of the LLM stand-in: the parts of the Anthropic API claude-code uses."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import wire
from .scripts import SCRIPTS, plan_reply, resolve_script

SECRET_HEADERS = ("x-api-key", "authorization", "proxy-authorization", "cookie")
MODEL_SCRIPT_PREFIX = "llm-sim:"  # model "llm-sim:hello" picks script "hello" for that request


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-case names, secret headers left out
    key_header: str | None  # "x-api-key" or "authorization" when a key was sent
    key_sha256: str | None  # first 12 hex digits of the key's sha256, never the key
    body: Any = None  # parsed JSON, or None
    status: int = 0
    reply: dict[str, Any] = field(default_factory=dict)  # step, stop_reason, script, stream

    @property
    def key_present(self) -> bool:
        return self.key_header is not None


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class LLMSim:
    """Start with ``.start()``; ``.url`` is the ANTHROPIC_BASE_URL to give claude-code.

    ``script`` is a built-in script name or a list of steps (see ``scripts``); it may be changed
    while running. ``api_key``, when set, is the only key accepted. ``event_delay`` (seconds)
    slows streamed replies down, event by event.
    """

    def __init__(self, host="127.0.0.1", port=0, script="note", api_key=None, event_delay=0.0):
        resolve_script(script)
        self.host, self.port, self.script = host, port, script
        self.api_key, self.event_delay = api_key, event_delay
        self.requests: list[RecordedRequest] = []
        self.server_errors: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LLMSim:
        handler = type("BoundHandler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> LLMSim:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def message_requests(self) -> list[RecordedRequest]:
        """The recorded ``POST /v1/messages`` calls (count_tokens excluded)."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def script_for(self, model: str) -> str | list[Any]:
        if model.startswith(MODEL_SCRIPT_PREFIX) and model[len(MODEL_SCRIPT_PREFIX) :] in SCRIPTS:
            return model[len(MODEL_SCRIPT_PREFIX) :]
        return self.script


class _Handler(BaseHTTPRequestHandler):
    sim: LLMSim
    protocol_version = "HTTP/1.1"
    server_version = "llm-sim/1"

    def log_message(self, format, *args):  # quiet: the record is in sim.requests
        pass

    def do_HEAD(self):
        self._handle(send_body=False)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self, send_body=True):
        self.send_body = send_body
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.entry = RecordedRequest(
            self.command, parts.path, parts.query, *self._headers_and_key(), body=_json(raw)
        )
        self.sim.record(self.entry)  # before answering: a client that got its answer sees it
        try:
            self._route(parts.path)
        except (BrokenPipeError, ConnectionResetError):
            self.entry.reply["disconnected"] = True  # the client went away (canceled job)
            self.close_connection = True
        except Exception:
            self.sim.server_errors.append(traceback.format_exc())
            self._json(500, wire.error("api_error", "stand-in failed"))

    def _headers_and_key(self):
        headers = {k.lower(): v for k, v in self.headers.items()}
        key_header = key = None
        if headers.get("x-api-key"):
            key_header, key = "x-api-key", headers["x-api-key"]
        elif headers.get("authorization", "").lower().startswith("bearer "):
            key_header, key = "authorization", headers["authorization"][7:].strip()
        safe = {k: v for k, v in headers.items() if k not in SECRET_HEADERS}
        self.key = key
        return safe, key_header, key_fingerprint(key) if key else None

    def _route(self, path):
        if self.command in ("HEAD", "GET") and path == "/":
            return self._json(200, {"ok": True, "service": "llm-sim"})
        if self.command != "POST" or path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self._json(404, wire.error("not_found_error", f"no route {path}"))
        if not self.key or (self.sim.api_key is not None and self.key != self.sim.api_key):
            return self._json(401, wire.error("authentication_error", "invalid x-api-key"))
        body = self.entry.body
        if not isinstance(body, dict):
            return self._json(400, wire.error("invalid_request_error", "body must be JSON"))
        tokens_in = wire.estimate_tokens(json.dumps(body))
        if path.endswith("/count_tokens"):
            return self._json(200, {"input_tokens": tokens_in})
        self._messages(body, tokens_in)

    def _messages(self, body, tokens_in):
        model = str(body.get("model") or "llm-sim")
        script = self.sim.script_for(model)
        reply = plan_reply(script, body.get("messages") or [])
        blocks = wire.finalize(reply)
        stream = bool(body.get("stream"))
        self.entry.reply = {
            "script": script if isinstance(script, str) else "(custom)",
            "step": reply.step,
            "stop_reason": reply.stop_reason,
            "stream": stream,
            "content": blocks,
        }
        if not stream:
            return self._json(200, wire.message(model, blocks, reply.stop_reason, tokens_in))
        chunks = [
            wire.sse(*event) for event in wire.events(model, blocks, reply.stop_reason, tokens_in)
        ]
        self._start(200, "text/event-stream; charset=utf-8", sum(len(c) for c in chunks))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()
            if self.sim.event_delay:
                time.sleep(self.sim.event_delay)

    def _start(self, status, content_type, length):
        self.entry.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("request-id", wire.new_id("req"))

    def _json(self, status, payload):
        data = json.dumps(payload).encode()
        self._start(status, "application/json", len(data))
        self.end_headers()
        if self.send_body:
            self.wfile.write(data)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
