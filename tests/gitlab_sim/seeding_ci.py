"""Seeding API, CI and hooks part: pipelines with jobs, project webhooks."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .models import Hook, Job, Pipeline
from .webhooks import normalize_events, require_loopback, signing_key

if TYPE_CHECKING:
    from .store import State

TERMINAL = {"success", "failed", "canceled", "skipped", "manual"}


class CISeedingMixin:
    state: State

    def add_pipeline(
        self,
        project,
        ref: str,
        status: str = "success",
        jobs=None,
        merge_request=None,
        sha: str | None = None,
        source: str | None = None,
        user=None,
    ) -> Pipeline:
        """A pipeline with jobs (dicts: name, status, log, stage, allow_failure, failure_reason)."""
        with self.state.lock:
            project = self.state.require_project(project)
            mr = self._mr_ref(project, merge_request)
            repo = self.repo(project)
            if sha is None:
                sha = self.mr_head(project, mr) if mr else repo.resolve(ref)
            if sha is None:
                raise ValueError(f"unknown ref {ref!r}")
            now = self.state.now()
            finished = status in TERMINAL
            pipeline = Pipeline(
                id=self.state.next_id("pipeline"),
                iid=project.next_pipeline_iid,
                project_id=project.id,
                ref=ref,
                sha=sha,
                status=status,
                source=source or ("merge_request_event" if mr else "push"),
                created_at=now - dt.timedelta(minutes=5),
                updated_at=now,
                merge_request_iid=mr.iid if mr else None,
                user_id=self.state.require_user(user).id if user is not None else None,
                started_at=now - dt.timedelta(minutes=4)
                if status not in ("created", "pending")
                else None,
                finished_at=now if finished else None,
            )
            project.next_pipeline_iid += 1
            for spec in jobs if jobs is not None else [{"name": "test", "status": status}]:
                self.add_job(pipeline, **spec)
            self.state.pipelines[pipeline.id] = pipeline
            repo.update_ref(f"refs/pipelines/{pipeline.id}", sha)  # Ci::PersistentRef
            for other in project.merge_requests.values():
                if other is mr or (
                    mr is None
                    and other.state == "opened"
                    and other.source_branch == ref
                    and other.source_project_id == project.id
                    and self.mr_head(project, other) == sha
                ):
                    other.head_pipeline_id = pipeline.id
            return pipeline

    def add_job(
        self,
        pipeline: Pipeline,
        name: str,
        status: str = "success",
        log: str = "",
        stage: str = "test",
        allow_failure: bool = False,
        failure_reason: str | None = None,
        when: str = "on_success",
    ) -> Job:
        now = self.state.now()
        job = Job(
            id=self.state.next_id("job"),
            name=name,
            stage=stage,
            status=status,
            log=log,
            pipeline_id=pipeline.id,
            project_id=pipeline.project_id,
            created_at=now - dt.timedelta(minutes=5),
            started_at=now - dt.timedelta(minutes=3)
            if status not in ("created", "pending")
            else None,
            finished_at=now if status in TERMINAL else None,
            failure_reason=failure_reason or ("script_failure" if status == "failed" else None),
            allow_failure=allow_failure,
            when=when,
            user_id=pipeline.user_id,
        )
        pipeline.jobs.append(job)
        self.state.jobs[job.id] = job
        return job

    def add_hook(
        self,
        project,
        url: str,
        token: str | None = None,
        signing_token: str | None = None,
        events=None,
    ) -> Hook:
        """A project webhook. ``events``: names like "issues", "merge_requests", "note", "pipeline"."""
        require_loopback(url, self.host)
        if signing_token is not None:
            signing_key(signing_token)
        with self.state.lock:
            project = self.state.require_project(project)
            hook = Hook(
                id=self.state.next_id("hook"),
                project_id=project.id,
                url=url,
                token=token,
                signing_token=signing_token,
                events=normalize_events(events),
                created_at=self.state.now(),
            )
            project.hooks.append(hook)
            return hook

    def fail_next_merge(self, project) -> None:
        """The next merge in ``project`` fails after the checks (GitLab answers 422)."""
        self.failing_merges[self.state.require_project(project).id] = True
