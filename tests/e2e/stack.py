"""Pieces of the end-to-end stack that need no pytest: the Docker bridge address job containers
reach, and Mate's WSGI application served in a thread on that address."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler


def jobs_gateway(client) -> str:
    """The gateway of the ``mate-jobs`` bridge (created by the runner's own code when missing):
    an address of this machine that job containers reach, and nothing outside does."""
    from jobs.runner import containers, hardening

    network = containers.ensure_network(client)
    gateway = containers.bridge_gateway(network)
    if not gateway:
        raise RuntimeError(f"the Docker network {hardening.NETWORK} has no gateway address")
    return gateway


def can_bind(host: str) -> bool:
    """True when ``host`` is an address of this machine (the Docker engine runs here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # the test reads the database, not access logs
        pass


class MateServer:
    """``mate.wsgi``'s Django application on ``host:port`` (0: a free port), in a thread.

    Every request runs in its own thread with its own database connection, as under gunicorn.
    """

    def __init__(self, host: str, port: int = 0) -> None:
        self.host, self.port = host, port
        self._httpd: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MateServer:
        self._httpd = ThreadedWSGIServer(
            (self.host, self.port), _QuietHandler, allow_reuse_address=False
        )
        self._httpd.set_app(WSGIHandler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)


def wait_for(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.25):
    """Poll ``predicate`` until it returns something truthy; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)
