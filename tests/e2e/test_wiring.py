"""The small pieces the end-to-end stack needs, without Docker: ``MATE_ANTHROPIC_BASE_URL`` in a
job's environment, and the GitLab simulator on another address than 127.0.0.1."""

from __future__ import annotations

import subprocess

import pytest
import requests

from jobs.runner.env import llm_env
from tests.gitlab_sim import GitLabSim


def test_anthropic_base_url_is_the_operators_setting(settings):
    settings.MATE_ANTHROPIC_BASE_URL = ""
    assert llm_env("anthropic", "k" * 20) == {"ANTHROPIC_AUTH_TOKEN": "k" * 20}
    settings.MATE_ANTHROPIC_BASE_URL = "http://llm-gateway.internal:8080/"
    assert llm_env("anthropic", "k" * 20) == {
        "ANTHROPIC_AUTH_TOKEN": "k" * 20,
        "ANTHROPIC_BASE_URL": "http://llm-gateway.internal:8080",
    }
    # OpenRouter keeps its own endpoint; no key, no variables.
    assert llm_env("openrouter", "k")["ANTHROPIC_BASE_URL"] == "https://openrouter.ai/api"
    assert llm_env("anthropic", "") == {}


@pytest.fixture
def sim_on_other_loopback(tmp_path):
    """127.0.0.2 stands for a bridge gateway: another address of this machine."""
    sim = GitLabSim(host="127.0.0.2").start()
    yield sim
    sim.stop()
    assert not sim.server_errors


def test_simulator_binds_and_names_its_host(sim_on_other_loopback, tmp_path):
    sim = sim_on_other_loopback
    assert sim.url == f"http://127.0.0.2:{sim.port}"
    assert sim._server.server_address[0] == "127.0.0.2"
    user = sim.add_user("alice")
    token = sim.add_pat(user)
    project = sim.add_project("alice/demo", members={user: 40}, files={"README.md": "hi\n"})
    answer = requests.get(
        f"{sim.api_url}/projects/{project.id}", headers={"PRIVATE-TOKEN": token}, timeout=5
    ).json()
    assert answer["http_url_to_repo"] == f"http://127.0.0.2:{sim.port}/alice/demo.git"
    assert answer["web_url"].startswith("http://127.0.0.2:")
    assert answer["ssh_url_to_repo"] == "git@127.0.0.2:alice/demo.git"
    clone = subprocess.run(
        ["git", "clone", "-q", sim.clone_url(project, token), str(tmp_path / "c")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "c" / "README.md").read_text() == "hi\n"


def test_simulator_hooks_go_to_loopback_or_its_own_address_only(sim_on_other_loopback):
    sim = sim_on_other_loopback
    project = sim.add_project("acme/x")
    sim.add_hook(project, "http://127.0.0.2:9/hook")  # its own address
    sim.add_hook(project, "http://127.0.0.1:9/hook")  # loopback
    with pytest.raises(ValueError, match=r"loopback or 127\.0\.0\.2"):
        sim.add_hook(project, "http://192.0.2.1/hook")
