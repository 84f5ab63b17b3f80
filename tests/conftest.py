"""Shared test setup. Fixture plugins live next to what they start."""

pytest_plugins = ["tests.gitlab_sim.fixtures", "tests.docker_support"]


def pytest_report_header(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return f"mate: database={engine} broker={broker}"
