"""HTTP front: REST v4 dispatch (rate limit, auth, scopes, routing) and git smart HTTP."""

from __future__ import annotations

import json
import re
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import (  # noqa: F401
    api_approvals,
    api_hooks,
    api_issues,
    api_mrs,
    api_pipelines,
    api_projects,
    api_repository,
    api_users,
    control,
    errors,
    git_http,
)
from .auth import api_token_string, authenticate_api
from .routing import Ctx, Response, Stream, find_route, parse_params

if TYPE_CHECKING:
    from .sim import GitLabSim

GIT_PATH = re.compile(
    r"^/(?P<project>.+?)(?:\.git)?/(?P<rest>info/refs|git-upload-pack|git-receive-pack)$"
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    server: SimServer

    def log_message(self, format: str, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def dispatch(self) -> None:
        sim = self.server.sim
        raw_path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.read_body()
        if raw_path == "/api/v4" or raw_path.startswith("/api/v4/"):
            response = self.api(sim, raw_path, query, headers, body)
        elif raw_path.startswith(control.PREFIX):
            response = control.handle(sim, self.command, raw_path, body)
        elif match := GIT_PATH.match(raw_path):
            try:
                response = git_http.handle(
                    sim, self.command, match["project"], match["rest"], query, headers, body
                )
            except Exception:
                sim.server_errors.append(traceback.format_exc())
                response = Response(500, b"Internal Server Error\n", content_type="text/plain")
        else:
            response = Response(404, b"Not Found\n", content_type="text/plain")
        self.send(response)

    def api(self, sim: GitLabSim, path: str, query: str, headers: dict, body: bytes) -> Response:
        method = self.command
        secret = None
        record_body = None
        try:
            params = parse_params(query, body, headers.get("content-type", ""))
            secret = api_token_string(headers, params)
            if method not in ("GET", "HEAD"):
                record_body = params
            fault = sim.take_fault(method, unquote(path), headers, params)
            retry_after = None if fault else sim.take_rate_limit()
            if fault is not None:
                response = Response(fault[0], fault[1])
            elif retry_after is not None:
                response = self.rate_limited(retry_after)
            else:
                response = self.call(sim, method, path, query, headers, params, secret)
        except errors.ApiError as exc:
            response = Response(exc.status, exc.body, dict(exc.headers))
        except Exception:  # a simulator bug: answer like GitLab, keep the trace for the test
            sim.server_errors.append(traceback.format_exc())
            response = Response(500, {"message": "500 Internal Server Error"})
        sim.record_api(method, path, query, secret, response.status, record_body)
        return response

    def call(self, sim: GitLabSim, method, path, query, headers, params, secret) -> Response:
        found = find_route(method, path)
        if found is None:
            raise errors.route_not_found()
        route, path_params = found
        with sim.state.lock:
            user, token = authenticate_api(sim.state, secret, method, route.scopes)
            if user is None and method not in ("GET", "HEAD"):
                raise errors.unauthorized()
            ctx = Ctx(sim, method, path, query, headers, params, path_params, user, token)
            return route.handler(ctx)

    def rate_limited(self, retry_after: int) -> Response:
        headers = {
            "Retry-After": str(retry_after),
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "60",
            "RateLimit-Observed": "61",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(retry_after),
        }
        return Response(429, b"Retry later\n", headers, content_type="text/plain")

    def send(self, response: Response) -> None:
        if isinstance(response.body, Stream):
            self.send_stream(response, response.body)
            return
        body = response.body
        if response.status == 204 or body is None:
            payload = b""
        elif isinstance(body, bytes | bytearray):
            payload = bytes(body)
        else:
            payload = json.dumps(body, separators=(",", ":")).encode()
        self.send_head(response)
        if response.status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and response.status != 204:
            self.wfile.write(payload)

    def send_head(self, response: Response) -> None:
        self.send_response(response.status)
        headers = {
            "Content-Type": response.content_type,
            "Cache-Control": "max-age=0, private, must-revalidate",
            "X-Request-Id": uuid.uuid4().hex[:26].upper(),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "SAMEORIGIN",
        }
        headers.update(response.headers)
        for key, value in headers.items():
            self.send_header(key, value)

    def send_stream(self, response: Response, stream: Stream) -> None:
        """Headers, then the chunks as they come (a client that stops reading stops us)."""
        try:
            self.send_head(response)
            chunked = stream.length is None
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(stream.length))
            self.end_headers()
            if self.command == "HEAD":
                return
            for chunk in stream.chunks:
                if not chunk:
                    continue
                if chunked:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            stream.close()


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim: GitLabSim


def make_server(sim: GitLabSim, port: int) -> SimServer:
    server = SimServer((sim.host, port), Handler)
    server.sim = sim
    return server
