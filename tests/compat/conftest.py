"""The simulator world and webhook receiver of the simulator's own tests, reused here."""

from tests.simulator.conftest import receiver, world  # noqa: F401 - pytest fixtures
