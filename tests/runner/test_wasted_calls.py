"""No wasted calls when a job starts: image selection asks GitLab for the project's default
branch and the devcontainer files there only (no branch lookup behind a missing file or a commit
id), and the engine's CPU count is asked once per process, not at every launch."""

from __future__ import annotations

import uuid

import docker
import pytest
from docker.errors import DockerException

from jobs.models import Job, JobStatus
from jobs.routing.gitlab_reads import BotReader, is_commit_id
from jobs.runner import containers, images
from jobs.services import lifecycle
from tests.tenants.factories import TenantFactory, make_bot, make_default

BRANCHES = "/repository/branches/"
FILES = "/repository/files/"


@pytest.fixture
def repo(gitlab_sim, settings, db):
    """A project the tenant's bot can read, without a devcontainer."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    settings.MATE_AGENT_IMAGE = "mate-agent:default"
    bot_user = gitlab_sim.add_user("mate-bot")
    pat = gitlab_sim.add_pat(bot_user, scopes=["api"])
    project = gitlab_sim.add_project("acme/widget", members={bot_user: 40})
    tenant = TenantFactory(gitlab_url=gitlab_sim.url)
    bot = make_default(make_bot(tenant, username="mate-bot", token=pat, gitlab_user_id=bot_user.id))
    return gitlab_sim, project, tenant, bot


def _job(tenant, project, *, ref: str, commit: str | None) -> Job:
    return Job.objects.create(
        tenant=tenant,
        event_key=uuid.uuid4().hex,
        event="issue_assigned",
        bot_username="mate-bot",
        agent="helper",
        trigger="tenant[0]",
        project_id=project.id,
        project_path=project.path_with_namespace,
        object_kind="issue",
        object_iid=1,
        loop_key="issue/1",
        status=JobStatus.STARTING,
        snapshot={
            "agent": {"name": "helper", "image": None},
            "config": {"ref": ref, "commit": commit, "file": ".mate.yml"},
        },
    )


@pytest.mark.parametrize("at", ["commit", "branch"])
def test_a_missing_devcontainer_costs_one_request_per_path(repo, at):
    sim, project, tenant, _ = repo
    commit = sim.branch_sha(project, "main") if at == "commit" else None
    job = _job(tenant, project, ref="main", commit=commit)
    choice = images.select_image(job, images.BotRepo(job))
    assert (choice.image, choice.source, choice.warnings) == ("mate-agent:default", "default", [])
    reads = sim.requests_to("GET", FILES)
    assert len(reads) == len(images.DEVCONTAINER_PATHS) and all(r.status == 404 for r in reads)
    # Read at the default branch GitLab names, whatever commit the config was read at.
    assert {r.query.get("ref") for r in reads} == {"main"}
    assert sim.requests_to("GET", BRANCHES) == []


def test_a_devcontainer_image_is_still_found_with_one_request(repo):
    sim, project, tenant, _ = repo
    sim.commit_files(project, "main", {".devcontainer/devcontainer.json": '{"image": "py:3"}'})
    job = _job(tenant, project, ref="main", commit=sim.branch_sha(project, "main"))
    choice = images.select_image(job, images.BotRepo(job))
    assert (choice.image, choice.source) == ("py:3", "devcontainer")
    assert len(sim.requests_to("GET", FILES)) == 1
    assert sim.requests_to("GET", BRANCHES) == []


def test_routing_looks_up_a_branch_only_for_a_branch_ref(repo):
    """Routing records which commit a missing .mate.yml was looked for at: a branch ref costs
    one branch lookup; a commit id is that commit already."""
    sim, project, tenant, bot = repo
    sha = sim.branch_sha(project, "main")
    reader = BotReader(tenant, bot)
    at_sha = reader.repo_file(project.id, ".mate.yml", sha)
    assert (at_sha.text, at_sha.commit) == (None, sha)
    assert sim.requests_to("GET", BRANCHES) == []
    at_branch = reader.repo_file(project.id, ".mate.yml", "main")
    assert (at_branch.text, at_branch.commit) == (None, sha)
    assert len(sim.requests_to("GET", BRANCHES)) == 1


@pytest.mark.parametrize(
    "ref,expected",
    [
        ("0123456789abcdef0123456789abcdef01234567", True),
        ("ab" * 32, True),
        ("main", False),
        ("0123456789ABCDEF0123456789ABCDEF01234567", False),
        ("0123456789abcdef", False),
        ("feature/0123456789abcdef0123456789abcdef01234567", False),
    ],
)
def test_what_counts_as_a_commit_id(ref, expected):
    assert is_commit_id(ref) is expected


class _Engine:
    """A Docker client stand-in that counts ``docker info``."""

    def __init__(self, ncpu=4, fail=False, base_url="http+docker://localhost"):
        self.calls = 0
        self.ncpu, self.fail = ncpu, fail
        self.api = type("Api", (), {"base_url": base_url})()

    def info(self):
        self.calls += 1
        if self.fail:
            raise DockerException("engine away")
        return {"NCPU": self.ncpu}


@pytest.fixture
def no_cached_cpus(monkeypatch):
    monkeypatch.setattr(containers, "_engine_cpus", {})


def test_the_engine_cpu_count_is_asked_once_per_process(no_cached_cpus):
    engine = _Engine(ncpu=4)
    assert [containers.engine_cpus(engine) for _ in range(3)] == [4.0, 4.0, 4.0]
    assert engine.calls == 1
    other = _Engine(ncpu=8, base_url="tcp://10.0.0.2:2376")  # another engine: its own count
    assert containers.engine_cpus(other) == 8.0 and other.calls == 1


def test_an_unknown_cpu_count_is_asked_again_next_time(no_cached_cpus):
    engine = _Engine(fail=True)
    assert containers.engine_cpus(engine) is None
    engine.fail = False
    assert containers.engine_cpus(engine) == 4.0
    assert engine.calls == 2


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_launching_jobs_asks_the_engine_for_its_cpus_once(
    runner_world, monkeypatch, no_cached_cpus
):
    asked: list[int] = []
    real_info = docker.DockerClient.info

    def counting_info(self, *args, **kwargs):
        asked.append(1)
        return real_info(self, *args, **kwargs)

    monkeypatch.setattr(docker.DockerClient, "info", counting_info)
    for _ in range(2):
        job = runner_world.job("echo hi")
        lifecycle.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == JobStatus.DONE
    assert len(asked) == 1
    # and no branch was looked up behind the missing devcontainer either
    assert runner_world.sim.requests_to("GET", BRANCHES) == []
