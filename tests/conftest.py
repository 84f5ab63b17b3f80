"""Shared test setup. Fixture plugins live next to what they start."""

pytest_plugins = ["tests.gitlab_sim.fixtures"]
