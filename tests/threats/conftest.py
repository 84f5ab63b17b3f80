"""Shared setup for the threat tests."""

from __future__ import annotations

import uuid

import pytest

# A tenant of the GitLab simulator and a job factory for real job containers (T15); it uses the
# runner's `runner` fixture, imported below.
from tests.runner.conftest import runner_world  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def _private_rate_limit_cache(settings):
    """Rate-limit counters in a cache of this test alone.

    The default cache is a directory under MATE_VAR_DIR shared by every process on the machine,
    and every test clears it first: a test run next to another one would see its counters wiped
    at random. An in-process cache keeps these counting tests deterministic.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"threats-{uuid.uuid4().hex}",
        }
    }


# --- A live Mate for the scenario tests (T11, T19) ----------------------------------------------
# The GitLab simulator and Mate's WSGI application on the mate-jobs bridge's gateway, so that a
# real job container (the runner's busybox test image, whose agent runs the job's TEST_SCRIPT)
# reaches the tool service over HTTP. Every answer Mate gives is recorded.

import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from tests.runner.conftest import _runtime_volumes, runner, runner_image  # noqa: E402, F401


@dataclass
class Answer:
    """One request to the live Mate and its answer."""

    method: str
    path: str
    status: int
    body: bytes


class RecordingApp:
    """WSGI middleware keeping every answer (the request's method and path, status, body)."""

    def __init__(self, app) -> None:
        self.app = app
        self.answers: list[Answer] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        seen: dict = {}

        def start(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        result = self.app(environ, start)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()  # Django's request_finished: closes this thread's connection
        with self._lock:
            self.answers.append(
                Answer(environ["REQUEST_METHOD"], environ["PATH_INFO"], seen["status"], body)
            )
        return [body]


@dataclass
class LiveStack:
    sim: object
    mate: object
    recorder: RecordingApp
    docker: object

    def answers_to(self, method: str, path: str) -> list[Answer]:
        return [a for a in self.recorder.answers if a.method == method and a.path == path]


def scripted_config(script: str, *, permissions: list[str], on: str) -> str:
    """A tenant config whose one agent runs ``script`` (busybox sh in the runner's test image,
    as TEST_SCRIPT) for every ``on`` event."""
    body = "\n".join(f"        {line}" for line in script.strip().splitlines())
    return f"""\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-5
    system_prompt: You help with GitLab issues and merge requests.
    permissions: [{", ".join(permissions)}]
    timeout: 5m
    env:
      TEST_SCRIPT: |
{body}
triggers:
  - on: {on}
    agent: helper
"""


@pytest.fixture
def live_stack(docker_client, runner, settings):  # noqa: F811
    """The simulator and a live Mate on the jobs bridge's gateway; runner settings for jobs."""
    from tests.e2e.stack import MateServer, can_bind, jobs_gateway
    from tests.gitlab_sim import GitLabSim

    gateway = jobs_gateway(docker_client)
    if not can_bind(gateway):
        pytest.fail(f"the jobs bridge's gateway {gateway} is not an address of this machine")
    sim = GitLabSim(host=gateway).start()
    mate = MateServer(gateway).start()
    recorder = RecordingApp(mate._httpd.get_app())
    mate._httpd.set_app(recorder)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, gateway]
    settings.MATE_TOOL_BASE_URL = mate.url
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    stack = LiveStack(sim, mate, recorder, docker_client)
    try:
        yield stack
    finally:
        mate.stop()
        sim.stop()
    assert not sim.server_errors, "GitLab simulator raised:\n" + "\n".join(sim.server_errors)
