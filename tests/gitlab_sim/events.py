"""Test helpers that change state the way a person in GitLab would, and send the webhooks."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from . import hook_payloads as payloads
from .group_hooks import find_hook, hooks_for
from .hook_pipeline import pipeline_payload
from .models import Issue, MergeRequest, Pipeline, Project, User
from .operations import Snapshot, add_note, update_issuable
from .webhooks import HOOK_EVENTS, Delivery

if TYPE_CHECKING:
    from .store import State
    from .webhooks import Dispatcher

FAILED_LOG = "$ make test\nFAILED tests/test_app.py::test_it - AssertionError\nERROR: Job failed: exit code 1\n"


class Emission(list):
    """The deliveries one action caused; ``.object`` is what it created or changed."""

    object: Any = None


class EventsMixin:
    state: State
    dispatcher: Dispatcher
    deliver_api_events: bool

    # -- building and sending -------------------------------------------------------------
    def build_deliveries(self, project: Project, kind: str, payload: dict) -> list[Delivery]:
        """One delivery per project hook and group hook (the project's group and its
        ancestors) that takes ``kind``, each with its own headers: X-Gitlab-Event-UUID is
        RecursionDetection::UUID#uuid_for_hook, new for each hook."""
        flag, event = HOOK_EVENTS[kind]
        return [
            self.dispatcher.build(h, event, payload, str(uuid.uuid4()))
            for h in hooks_for(self.state, project)
            if flag in h.events
        ]

    def issuable_event(
        self,
        project: Project,
        obj: Issue | MergeRequest,
        user: User,
        action: str,
        before: Snapshot | None,
    ) -> list[Delivery]:
        if isinstance(obj, Issue):
            kind = "confidential_issue_hooks" if obj.confidential else "issue_hooks"
        else:
            kind = "merge_request_hooks"
        payload = payloads.issuable_payload(self, project, obj, user, action, before)
        return self.build_deliveries(project, kind, payload)

    def note_event(self, project: Project, obj: Issue | MergeRequest, note) -> list[Delivery]:
        confidential = note.internal or (isinstance(obj, Issue) and obj.confidential)
        kind = "confidential_note_hooks" if confidential else "note_hooks"
        return self.build_deliveries(project, kind, payloads.note_payload(self, project, obj, note))

    def pipeline_event(
        self, project: Project, pipeline: Pipeline, user: User | None
    ) -> list[Delivery]:
        payload = pipeline_payload(self, project, pipeline, user)
        return self.build_deliveries(project, "pipeline_hooks", payload)

    def dispatch_async(self, deliveries: list[Delivery]) -> None:
        """Webhooks caused by API calls go out after the response, as GitLab's Sidekiq does."""
        for delivery in deliveries:
            if self.deliver_api_events:
                self.dispatcher.send_later(delivery)

    def _send(self, deliveries: list[Delivery], obj: Any) -> Emission:
        result = Emission(self.dispatcher.send(d) for d in deliveries)
        result.object = obj
        return result

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Send a delivery again, byte for byte, with the same Idempotency-Key."""
        with self.state.lock:
            hook = find_hook(self.state, delivery.hook_id)
        return self.dispatcher.resend(hook, delivery)

    # -- issues ---------------------------------------------------------------------------
    def _issuable(self, project, kind: str, iid: int) -> tuple[Project, Issue | MergeRequest]:
        project = self.state.require_project(project)
        if kind in ("issue", "issues", "Issue"):
            return project, project.issues[int(iid)]
        if kind in ("merge_request", "merge_requests", "MergeRequest", "mr"):
            return project, project.merge_requests[int(iid)]
        raise ValueError(f"kind must be 'issue' or 'merge_request', not {kind!r}")

    def _ids(self, users) -> list[int]:
        return [self.state.require_user(u).id for u in users]

    def _update(self, project, kind: str, iid: int, by, **changes) -> Emission:
        with self.state.lock:
            project, obj = self._issuable(project, kind, iid)
            user = self.state.require_user(by)
            before, action = update_issuable(self, project, obj, user, **changes)
            pending = self.issuable_event(project, obj, user, action, before) if action else []
        return self._send(pending, obj)

    def open_issue(
        self,
        project,
        title: str,
        author,
        description: str = "",
        assignees=(),
        labels=(),
        confidential=False,
    ) -> Emission:
        with self.state.lock:
            issue = self.add_issue(
                project, title, description, author, assignees, labels, confidential
            )
            project = self.state.require_project(project)
            pending = self.issuable_event(
                project, issue, self.state.require_user(author), "open", None
            )
        return self._send(pending, issue)

    def update_issue(self, project, iid: int, by, **changes) -> Emission:
        """Changes as update_issuable takes them (title, description, assignee_ids, labels...)."""
        return self._update(project, "issue", iid, by, **changes)

    def assign_issue(self, project, iid: int, usernames, by) -> Emission:
        current = self.issue(project, iid).assignee_ids
        return self._update(project, "issue", iid, by, assignee_ids=current + self._ids(usernames))

    def unassign_issue(self, project, iid: int, usernames, by) -> Emission:
        drop = set(self._ids(usernames))
        current = self.issue(project, iid).assignee_ids
        return self._update(
            project, "issue", iid, by, assignee_ids=[i for i in current if i not in drop]
        )

    def close_issue(self, project, iid: int, by) -> Emission:
        return self._update(project, "issue", iid, by, state_event="close")

    def reopen_issue(self, project, iid: int, by) -> Emission:
        return self._update(project, "issue", iid, by, state_event="reopen")

    # -- merge requests -------------------------------------------------------------------
    def open_merge_request(
        self,
        project,
        source_branch: str,
        target_branch: str | None = None,
        author=None,
        title: str | None = None,
        description: str = "",
        assignees=(),
        reviewers=(),
        labels=(),
        draft: bool = False,
        source_project=None,
    ) -> Emission:
        with self.state.lock:
            mr = self.add_merge_request(
                project, source_branch, target_branch, author, title, description,
                assignees, reviewers, labels, draft, source_project,
            )  # fmt: skip
            project = self.state.require_project(project)
            pending = self.issuable_event(
                project, mr, self.state.require_user(author), "open", None
            )
        return self._send(pending, mr)

    def update_merge_request(self, project, iid: int, by, **changes) -> Emission:
        return self._update(project, "merge_request", iid, by, **changes)

    def assign_merge_request(self, project, iid: int, usernames, by) -> Emission:
        current = self.merge_request(project, iid).assignee_ids
        return self._update(
            project, "merge_request", iid, by, assignee_ids=current + self._ids(usernames)
        )

    def unassign_merge_request(self, project, iid: int, usernames, by) -> Emission:
        drop = set(self._ids(usernames))
        current = self.merge_request(project, iid).assignee_ids
        return self._update(
            project, "merge_request", iid, by, assignee_ids=[i for i in current if i not in drop]
        )

    def set_reviewers(self, project, iid: int, usernames, by) -> Emission:
        return self._update(project, "merge_request", iid, by, reviewer_ids=self._ids(usernames))

    def close_merge_request(self, project, iid: int, by) -> Emission:
        return self._update(project, "merge_request", iid, by, state_event="close")

    # -- both -----------------------------------------------------------------------------
    def add_labels(self, project, kind: str, iid: int, labels, by) -> Emission:
        return self._update(project, kind, iid, by, add_labels=list(labels))

    def remove_labels(self, project, kind: str, iid: int, labels, by) -> Emission:
        return self._update(project, kind, iid, by, remove_labels=list(labels))

    def post_note(
        self,
        project,
        kind: str,
        iid: int,
        body: str,
        author,
        system: bool = False,
        internal: bool = False,
    ) -> Emission:
        """A comment (or a system note when ``system=True``) with its Note Hook."""
        with self.state.lock:
            project, obj = self._issuable(project, kind, iid)
            note = add_note(
                self, project, obj, self.state.require_user(author), body, system, internal
            )
            pending = self.note_event(project, obj, note)
        return self._send(pending, note)

    # -- pipelines ------------------------------------------------------------------------
    def fail_pipeline(
        self, project, ref: str, merge_request=None, by=None, jobs=None, sha: str | None = None
    ) -> Emission:
        """A failed pipeline on ``ref`` (an MR pipeline when ``merge_request`` is given)."""
        jobs = jobs or [
            {"name": "build", "stage": "build", "status": "success", "log": "$ make\nok\n"},
            {"name": "test", "stage": "test", "status": "failed", "log": FAILED_LOG},
        ]
        with self.state.lock:
            pipeline = self.add_pipeline(project, ref, "failed", jobs, merge_request, sha, user=by)
            project = self.state.require_project(project)
            pending = self.pipeline_event(project, pipeline, self.state.user(by))
        return self._send(pending, pipeline)

    def set_pipeline_status(self, pipeline: Pipeline, status: str, by=None) -> Emission:
        """Move a pipeline to ``status`` and send its Pipeline Hook."""
        with self.state.lock:
            pipeline.status = status
            pipeline.updated_at = self.state.now()
            if status in ("success", "failed", "canceled", "skipped"):
                pipeline.finished_at = pipeline.updated_at
            project = self.state.projects[pipeline.project_id]
            pending = self.pipeline_event(project, pipeline, self.state.user(by))
        return self._send(pending, pipeline)
