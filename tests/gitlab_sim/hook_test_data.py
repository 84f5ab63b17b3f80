"""What GitLab's "Test" button sends: data built from the newest real object of the project.

As TestHooks::ProjectService and Integrations::ProjectTestData (app/services/test_hooks/,
app/models/concerns/integrations/project_test_data.rb) build it:

- ``merge_requests_events``: the newest MR (``created_desc``),
  ``merge_request.to_hook_data(current_user, action: 'open')``. The MR was just loaded by a
  finder, so ``reportable_changes`` is empty and there are no old associations: ``changes`` is
  ``{}``. A real opening carries the saved attributes in ``changes`` (Issues: the record that
  was just created; MRs: AfterCreateService updates ``prepared_at`` right before its hooks).
- ``issues_events`` and ``confidential_issues_events``: the newest issue, the same way.
- ``note_events``: the newest note (``id_desc``, system notes included),
  ``Gitlab::DataBuilder::Note.build(note, current_user, :create)``: ``user`` is whoever pressed
  the button, where a real note hook has the note's author (Notes::PostProcessService).
- ``pipeline_events``: the newest pipeline (``id desc``), ``Gitlab::DataBuilder::Pipeline.build
  (pipeline)``: exactly what a real pipeline hook of that pipeline carries.
- ``confidential_note_events`` is a trigger with no test data: "Testing not available for this
  hook".

The X-Gitlab-Event header comes from the trigger, not from the object
(``hook.execute(data, trigger_key, force: true)``): "Test → Issue events" on a confidential
issue sends an ``Issue Hook`` whose ``event_type`` is ``confidential_issue``. The other headers
are those of any delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import hook_payloads as payloads
from .hook_pipeline import pipeline_payload
from .models import Issue, MergeRequest, Note, Project, User

if TYPE_CHECKING:
    from .sim import GitLabSim

# ProjectHook.triggers: hook name -> trigger (the values the API accepts for :trigger).
TRIGGERS = {
    "push_events": "push_hooks",
    "tag_push_events": "tag_push_hooks",
    "issues_events": "issue_hooks",
    "confidential_issues_events": "confidential_issue_hooks",
    "note_events": "note_hooks",
    "confidential_note_events": "confidential_note_hooks",
    "merge_requests_events": "merge_request_hooks",
    "job_events": "job_hooks",
    "pipeline_events": "pipeline_hooks",
    "wiki_page_events": "wiki_page_hooks",
    "deployment_events": "deployment_hooks",
    "feature_flag_events": "feature_flag_hooks",
    "releases_events": "release_hooks",
    "milestone_events": "milestone_hooks",
    "emoji_events": "emoji_hooks",
    "resource_access_token_events": "resource_access_token_hooks",
    "vulnerability_events": "vulnerability_hooks",
    "project_events": "project_hooks",
}
NOT_AVAILABLE = "Testing not available for this hook"


class NoTestData(Exception):
    """The project has nothing to build the test from (GitLab answers 422 with the message)."""


def build_test_data(sim: GitLabSim, project: Project, user: User, trigger: str) -> dict:
    """The body GitLab's Test sends for ``trigger``, as ``user`` pressed it."""
    if trigger in ("issues_events", "confidential_issues_events"):
        issue = _newest(project.issues.values())
        if issue is None:
            raise NoTestData("Ensure the project has issues.")
        return _opened_again(sim, project, issue, user)
    if trigger == "merge_requests_events":
        mr = _newest(project.merge_requests.values())
        if mr is None:
            raise NoTestData("Ensure the project has merge requests.")
        return _opened_again(sim, project, mr, user)
    if trigger == "note_events":
        return _note_data(sim, project, user)
    if trigger == "pipeline_events":
        pipelines = [p for p in sim.state.pipelines.values() if p.project_id == project.id]
        if not pipelines:
            raise NoTestData("Ensure the project has CI pipelines.")
        pipeline = max(pipelines, key=lambda p: p.id)
        return pipeline_payload(sim, project, pipeline, sim.state.users.get(pipeline.user_id))
    if trigger == "confidential_note_events":
        raise NoTestData(NOT_AVAILABLE)
    raise NoTestData(f"the GitLab simulator builds no test data for {trigger}")


def _newest(objects) -> Issue | MergeRequest | None:
    """The finder's ``created_desc`` first: newest creation, then highest id."""
    return max(objects, key=lambda o: (o.created_at, o.id), default=None)


def _opened_again(sim: GitLabSim, project: Project, obj: Issue | MergeRequest, user: User):
    payload = payloads.issuable_payload(sim, project, obj, user, "open", None)
    payload["changes"] = {}  # nothing was saved since the finder loaded it
    return payload


def _note_data(sim: GitLabSim, project: Project, user: User) -> dict:
    notes: list[tuple[Note, Issue | MergeRequest]] = [
        (note, obj)
        for obj in [*project.issues.values(), *project.merge_requests.values()]
        for note in obj.notes
    ]
    if not notes:
        raise NoTestData("Ensure the project has notes.")
    note, obj = max(notes, key=lambda pair: pair[0].id)
    payload = payloads.note_payload(sim, project, obj, note)
    payload["user"] = payloads.user_attrs(user)  # the tester, not the note's author
    return payload
