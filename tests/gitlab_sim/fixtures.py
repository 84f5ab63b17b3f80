"""pytest fixtures that start the GitLab simulator (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .sim import GitLabSim


@pytest.fixture
def gitlab_sim() -> Iterator[GitLabSim]:
    """A fresh simulator per test: empty state, its own port and repositories."""
    sim = GitLabSim().start()
    try:
        yield sim
    finally:
        sim.stop()
    if sim.server_errors:
        pytest.fail("GitLab simulator raised:\n" + "\n".join(sim.server_errors), pytrace=False)
