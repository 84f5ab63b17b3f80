import pytest

pytestmark = pytest.mark.docker


def test_engine_answers_and_reports_its_api_version(docker_client):
    version = docker_client.version()
    major, minor = (int(part) for part in version["ApiVersion"].split(".")[:2])
    assert (major, minor) >= (1, 41), "the runner needs Docker Engine API 1.41 or newer"
    assert docker_client.info()["OSType"] == "linux"
