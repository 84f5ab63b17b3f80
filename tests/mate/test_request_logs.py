"""Paths are text the caller chose (an agent can request ``/tools/<its LLM key>``): logs name the
matched route, never the raw path (THREATS T19), in Django's request log and gunicorn's access
log alike."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mate.redaction import RedactingFilter

ROOT = Path(__file__).resolve().parents[2]
CANARY = "unshapedcanary4f9d2e1b7c"  # no token shape: only the route rewrite hides it


@pytest.fixture
def console_output():
    """What Mate's configured console handler (the one with the redacting filter) writes."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING attaches no redacting console handler to the root logger"
    buffer = io.StringIO()
    old = [h.setStream(buffer) for h in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, old, strict=True):
            handler.setStream(stream)


@pytest.mark.django_db
def test_django_request_log_names_the_route_not_the_path(client, console_output):
    assert client.post(f"/tools/{CANARY}", data={}).status_code == 401
    assert client.get(f"/nowhere/{CANARY}").status_code == 404
    text = console_output.getvalue()
    assert "/tools/<str:name>" in text
    assert "/[unmatched path]" in text
    assert CANARY not in text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_access_log_names_the_route_and_redacts_the_agent(tmp_path):
    port, log = _free_port(), tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MATE_"))}
    env.update(MATE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mate.settings")
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "mate.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1", "--access-logfile", str(log)],
        cwd=ROOT,  # where gunicorn finds gunicorn.conf.py, as in the Procfile, compose and image
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=15)
                break
            except requests.RequestException:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        requests.post(
            f"http://127.0.0.1:{port}/tools/{CANARY}?token={CANARY}",
            headers={
                "User-Agent": "agent sk-ant-api03-useragentcanary1234",
                "Referer": f"http://x/{CANARY}",
            },
            auth=(CANARY, "x"),
            timeout=10,
        )
        requests.get(f"http://127.0.0.1:{port}/nowhere/{CANARY}", timeout=10)
        deadline = time.monotonic() + 10
        while log.read_text().count("\n") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)
    text = log.read_text()
    assert '"POST /tools/<str:name> HTTP/1.1" 401' in text
    assert '"GET /[unmatched path] HTTP/1.1" 404' in text
    assert CANARY not in text
    assert "useragentcanary1234" not in text and "sk-ant-[REDACTED]" in text
