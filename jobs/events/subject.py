"""The object an event is about (issue, MR or pipeline) and where its `.mate.yml` is read.

Config ref rules (SPEC §5.3 step 1): MR-flavoured events read the MR's source branch, pipelines
the MR's source branch (MR pipelines) or the pipeline's ref, everything else the project's
default branch. A fork MR (source project != target project) is not trusted: its events read the
target project's default branch. So does an MR whose author is a user whose events Mate
caused (a job opened it: its source branch was written by an agent), and a pipeline whose user
is one (an agent's push started it). Whenever the payload does not show that the source branch is
safe to read (unknown project ids, a merge-request ref without MR details), the default branch
is used. `config_ref` is None when no trusted ref is known (an empty project has no default
branch; a fork MR seen from the fork itself has no target branch in reach); routing then reads
no repository file.
"""

from __future__ import annotations

from dataclasses import dataclass

from .actors import MATE_MR_REASON
from .model import BotRef, Event, EventName, ObjectKind
from .payload import JsonObject, Person, bool_at, int_at, obj_at, str_at

FORK_REASON = "fork MR: using target default branch"
PIPELINE_MATE_REASON = "pipeline started by Mate's own job: using default branch"


@dataclass(frozen=True, slots=True)
class Project:
    """The project a delivery comes from."""

    id: int
    path: str | None
    default_branch: str | None


@dataclass(frozen=True, slots=True)
class MergeRequestRefs:
    """Branches and projects of a merge request, as far as the payload shows them."""

    source_branch: str | None
    target_branch: str | None
    source_project_id: int | None
    target_project_id: int | None


@dataclass(frozen=True)
class Subject:
    """Everything an event about one object carries, apart from the event-specific fields."""

    project: Project
    object_kind: ObjectKind
    object_iid: int | None
    assignees: tuple[Person, ...]
    config_ref: str | None
    config_ref_reason: str
    pipeline_id: int | None = None
    author: str | None = None
    labels: tuple[str, ...] = ()
    mr: MergeRequestRefs | None = None
    draft: bool | None = None
    ref: str | None = None
    title: str | None = None
    url: str | None = None

    def event(
        self,
        name: EventName,
        bot: BotRef,
        *,
        new_label: str | None = None,
        note_id: int | None = None,
        note_body: str | None = None,
    ) -> Event:
        """The event `name` about this object with `bot` acting (mentions name that bot)."""
        mr = self.mr or MergeRequestRefs(None, None, None, None)
        return Event(
            event=name,
            bot=bot.username,
            project_id=self.project.id,
            project_path=self.project.path,
            project_default_branch=self.project.default_branch,
            object_kind=self.object_kind,
            object_iid=self.object_iid,
            config_ref=self.config_ref,
            config_ref_reason=self.config_ref_reason,
            pipeline_id=self.pipeline_id,
            assignees=tuple(dict.fromkeys(p.username for p in self.assignees if p.username)),
            assignee_ids=tuple(
                dict.fromkeys(p.user_id for p in self.assignees if p.user_id is not None)
            ),
            author=self.author,
            labels=self.labels,
            new_label=new_label,
            target_branch=mr.target_branch,
            source_branch=mr.source_branch,
            draft=self.draft,
            ref=self.ref,
            source_project_id=mr.source_project_id,
            target_project_id=mr.target_project_id,
            mentioned=bot.username if name == "comment_mention" else None,
            note_id=note_id,
            note_body=note_body,
            title=self.title,
            url=self.url,
        )


def read_project(root: JsonObject) -> Project | None:
    """The delivery's project (`project.id`, else top-level `project_id`), or None."""
    project = obj_at(root, "project")
    project_id = int_at(project, "id")
    if project_id is None:
        project_id = int_at(root, "project_id")
    if project_id is None:
        return None
    return Project(project_id, str_at(project, "path_with_namespace"), _default_branch(project))


def _default_branch(project: JsonObject | None) -> str | None:
    """A non-empty default branch name, or None (empty projects have none)."""
    branch = str_at(project, "default_branch")
    return branch or None


def merge_request_refs(mr: JsonObject) -> MergeRequestRefs:
    """Branches and source/target project ids of an MR object."""
    return MergeRequestRefs(
        source_branch=str_at(mr, "source_branch") or None,
        target_branch=str_at(mr, "target_branch") or None,
        source_project_id=int_at(mr, "source_project_id"),
        target_project_id=int_at(mr, "target_project_id"),
    )


def draft_flag(mr: JsonObject) -> bool | None:
    """The MR's draft flag (`draft`, else the older `work_in_progress`), or None."""
    draft = bool_at(mr, "draft")
    return draft if draft is not None else bool_at(mr, "work_in_progress")


def default_ref(project: Project, reason: str) -> tuple[str | None, str]:
    """The project's default branch with `reason`, noting when it is unknown."""
    if project.default_branch is None:
        return None, f"{reason} (project default branch unknown)"
    return project.default_branch, reason


def mr_config_ref(
    project: Project, mr: MergeRequestRefs, untrusted: bool = False
) -> tuple[str | None, str]:
    """Where an MR-flavoured event reads `.mate.yml`: the source branch unless the MR is a
    fork or `untrusted` (its author is a user whose events Mate caused)."""
    if mr.source_project_id is None or mr.target_project_id is None:
        return default_ref(project, "MR source project unknown: using default branch")
    if mr.source_project_id != mr.target_project_id:
        if project.id != mr.target_project_id:
            return None, "fork MR seen from its source project: no trusted ref"
        return default_ref(project, FORK_REASON)
    if untrusted:
        return default_ref(project, MATE_MR_REASON)
    if mr.source_branch is None:
        return default_ref(project, "MR source branch unknown: using default branch")
    return mr.source_branch, "MR source branch"


def pipeline_config_ref(
    project: Project, mr: MergeRequestRefs | None, ref: str | None, untrusted: bool = False
) -> tuple[str | None, str]:
    """Where a pipeline event reads `.mate.yml`: its MR's source branch, else its ref; the
    default branch when `untrusted` (the pipeline's user is one whose events Mate caused)."""
    if mr is not None:
        return mr_config_ref(project, mr, untrusted)
    if untrusted:
        return default_ref(project, PIPELINE_MATE_REASON)
    if ref is None or not ref:
        return default_ref(project, "pipeline ref unknown: using default branch")
    if ref.startswith("refs/merge-requests/"):
        return default_ref(project, "merge request ref without MR details: using default branch")
    return ref, "pipeline ref"


def object_subject(
    kind: str,
    obj: JsonObject,
    project: Project,
    assignees: tuple[Person, ...],
    labels: tuple[str, ...],
    author: str | None,
    url: str | None,
    untrusted: bool = False,
) -> Subject | str:
    """An issue or MR subject from its object; config ref per SPEC §5.3 step 1 (`untrusted`:
    the MR's author is a user whose events Mate caused)."""
    iid = int_at(obj, "iid")
    if iid is None:
        return f"the {kind.replace('_', ' ')} has no integer iid"
    title = str_at(obj, "title")
    mr = merge_request_refs(obj) if kind == "merge_request" else None
    if mr is None:
        ref, reason = default_ref(project, "project default branch")
    else:
        ref, reason = mr_config_ref(project, mr, untrusted)
    return Subject(
        project=project,
        object_kind="merge_request" if mr is not None else "issue",
        object_iid=iid,
        assignees=assignees,
        config_ref=ref,
        config_ref_reason=reason,
        author=author,
        labels=labels,
        mr=mr,
        draft=draft_flag(obj) if mr is not None else None,
        title=title,
        url=url,
    )
