"""A GitLab world for the tool service: a tenant whose bot maintains ``acme/widget`` in the
simulator, a foreign project next to it, and jobs with real credentials (a job credential and
a per-job key minted at the simulator by ``jobs.credentials``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from jobs import credentials
from jobs.models import Job, JobStatus
from tests.gitlab_sim import DEVELOPER, MAINTAINER
from tests.tenants.factories import TenantFactory, make_bot, make_default

ALL_AUTHORITIES = (
    "read",
    "comment",
    "push_branch",
    "push_mr_branch",
    "open_mr",
    "touch_ci",
    "merge",
)
LLM_CANARY = "canary-llm-key-7f3a9c1e5b"
FAILED_LOG = "\n".join(f"step {i}" for i in range(1, 301)) + "\nFAILED tests/test_app.py\n"
FILES = {
    "README.md": "# widget\n",
    "src/app.py": "def main():\n    return 1\n",
    ".gitlab-ci.yml": "test:\n  script: make test\n",
    ".gitlab/ci/build.yml": "build:\n  script: make\n",
    "ci/pipeline.yml": "include: .gitlab-ci.yml\n",
}


@pytest.fixture(autouse=True)
def _tool_service_urls(settings):
    settings.ROOT_URLCONF = "tests.toolservice.urls"
    settings.MATE_ALLOW_PRIVATE_GITLAB = True


@dataclass
class World:
    sim: object
    tenant: object
    bot_user: object
    human: object
    pat: str
    project: object
    foreign: object
    issue: object
    mr: object
    pipeline: object
    failed_job: object
    foreign_pipeline: object
    jobs: list = field(default_factory=list)

    def job(
        self,
        authorities=("read",),
        kind: str = "issue",
        iid: int | None = None,
        pipeline_id: int | None = None,
        status: str = JobStatus.RUNNING,
        mint_key: bool = True,
    ) -> tuple[Job, str]:
        """A live job on acme/widget and its credential. ``kind``: issue, merge_request,
        pipeline; ``iid`` defaults to the seeded issue or MR."""
        if iid is None and kind != "pipeline":
            iid = self.issue.iid if kind == "issue" else self.mr.iid
        event = {
            "event": "issue_assigned" if kind == "issue" else "mr_assigned",
            "project_id": self.project.id,
            "project_default_branch": "main",
            "source_branch": self.mr.source_branch if kind == "merge_request" else None,
        }
        job = Job.objects.create(
            tenant=self.tenant,
            event_key=uuid.uuid4().hex,
            event=event["event"],
            bot_username="mate-bot",
            agent="helper",
            trigger="tenant[0]",
            project_id=self.project.id,
            project_path=self.project.path_with_namespace,
            object_kind=kind,
            object_iid=iid,
            loop_key=f"{kind}/{iid}",
            status=status,
            snapshot={
                "authorities": list(authorities),
                "project": {"id": self.project.id, "path": self.project.path_with_namespace},
                "object": {"kind": kind, "iid": iid, "pipeline_id": pipeline_id},
                "event": event,
                "timeout_seconds": 600,
                "bot": "mate-bot",
            },
        )
        token = credentials.issue_job_credential(job)
        if mint_key:
            credentials.mint_gitlab_key(job)
        else:
            job.uses_bot_pat = True
            job.save(update_fields=["uses_bot_pat"])
        self.jobs.append(job)
        return job, token

    def client(self, token: str | None) -> APIClient:
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    def key_user(self, job: Job):
        """The simulator user behind the job's per-job key (a project bot user)."""
        key = job.tokens.filter(kind="gitlab_key").latest("minted_at")
        return self.sim.user(self.sim.token_record(key.reveal_secret("value")).user_id)

    def foreign_requests(self) -> list:
        return [r for r in self.sim.requests if f"/projects/{self.foreign.id}" in r.path]


@pytest.fixture
def world(gitlab_sim) -> World:
    sim = gitlab_sim
    sim.deliver_api_events = False
    bot_user = sim.add_user("mate-bot")
    human = sim.add_user("alice")
    pat = sim.add_pat(bot_user, scopes=["api"])
    project = sim.add_project(
        "acme/widget",
        files=FILES,
        members={bot_user: MAINTAINER, human: MAINTAINER},
        protected_branches=["release/*", {"name": "stable", "push_access_level": DEVELOPER}],
        ci_config_path="ci/pipeline.yml",
    )
    sim.create_branch(project, "stable")
    sim.create_branch(project, "release/1.0")
    foreign = sim.add_project("other/secret", members={bot_user: MAINTAINER, human: MAINTAINER})
    for n in range(7):
        sim.add_issue(foreign, f"foreign issue {n}", "not yours", author=human)
    issue = sim.add_issue(project, "Login is broken", "Steps: open /login", author=human)
    sim.add_issue(project, "Second issue", "", author=human)
    sim.commit_files(
        project,
        "feature/login",
        {"src/app.py": "def main():\n    return 2\n"},
        "Fix login",
        start_branch="main",
    )
    mr = sim.add_merge_request(project, "feature/login", "main", author=human, title="Fix login")
    pipeline = sim.add_pipeline(
        project,
        "feature/login",
        status="failed",
        jobs=[
            {"name": "test", "status": "failed", "log": FAILED_LOG},
            {"name": "lint", "status": "success", "log": "ok\n"},
        ],
        merge_request=mr,
    )
    foreign_pipeline = sim.add_pipeline(
        foreign, "main", status="failed", jobs=[{"name": "x", "status": "failed", "log": "no"}]
    )
    tenant = TenantFactory(gitlab_url=sim.url)
    tenant.set_secret("llm_key", LLM_CANARY)
    tenant.save()
    make_default(make_bot(tenant, username="mate-bot", token=pat, gitlab_user_id=bot_user.id))
    sim.requests.clear()
    return World(
        sim,
        tenant,
        bot_user,
        human,
        pat,
        project,
        foreign,
        issue,
        mr,
        pipeline,
        pipeline.jobs[0],
        foreign_pipeline,
    )
