"""Shared test setup. Fixture plugins live next to what they start."""

import pytest

pytest_plugins = [
    "tests.gitlab_sim.fixtures",
    "tests.llm_sim.fixtures",
    "tests.docker_support",
]


def pytest_report_header(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return f"mate: database={engine} broker={broker}"


@pytest.fixture(autouse=True)
def _isolated_rate_limits_and_no_internet(settings):
    """Rate-limit counters live in the cache: each test gets its own in-process cache, so two
    test runs on one machine (or a running Mate) never share counters. No test may reach the
    internet, so the OpenRouter catalogue is off unless a test points it at a local server."""
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.MATE_OPENROUTER_MODELS_URL = ""
    yield
