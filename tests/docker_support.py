"""The `docker_client` fixture: a real Docker engine, or a loud skip (a failure in CI).

CI sets MATE_REQUIRE_DOCKER=1, so a missing engine there fails the run instead of hiding tests.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env(version="auto", timeout=30)
        client.ping()
    except Exception as exc:
        reason = (
            f"NO DOCKER ENGINE REACHABLE ({type(exc).__name__}): container tests cannot run. "
            "Start one with `bash .ci/docker-engine.sh`."
        )
        if os.environ.get("MATE_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield client
    client.close()
