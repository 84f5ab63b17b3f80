"""Pipeline Hook: pipeline_failed for a failed pipeline (SPEC §5.2).

A real Pipeline Hook's `merge_request` block names the MR (id, iid, branches, projects, state,
url) but not its assignees (GitLab's `Gitlab::DataBuilder::Pipeline#merge_request_attrs`), so
the payload cannot say which bot the MR is assigned to. The event is derived with the default
bot; routing reads the MR's assignees through the API and hands the event to the first
registered bot among them (`jobs.routing.consider`).
"""

from __future__ import annotations

from .model import Derivation
from .outcome import NO_ATTRIBUTES, NO_BOT, NO_PROJECT, ignored, malformed, printable, result
from .payload import JsonObject, int_at, label_titles, list_at, obj_at, person, str_at
from .roster import Roster
from .subject import Subject, draft_flag, merge_request_refs, pipeline_config_ref, read_project


def pipeline_hook(root: JsonObject, roster: Roster) -> Derivation:
    """pipeline_failed for a failed pipeline, with the default bot acting (routing resolves an
    MR's assigned bot). A tenant without a default bot still gets the event of an MR pipeline,
    with its first bot as a stand-in until routing has read the MR."""
    attrs = obj_at(root, "object_attributes")
    if attrs is None:
        return malformed(NO_ATTRIBUTES)
    status = str_at(attrs, "status")
    if status is None:
        return malformed("object_attributes.status is missing or not a string")
    if status != "failed":
        return ignored(f"pipeline status is {printable(status)}, not failed")
    subject = _pipeline_subject(root, attrs, roster)
    if isinstance(subject, str):
        return malformed(subject)
    acting = roster.default
    if acting is None and subject.object_iid is not None:
        acting = roster.bots[0]
    if acting is None:
        return ignored(NO_BOT)
    return result([subject.event("pipeline_failed", acting)], NO_BOT)


def _pipeline_subject(root: JsonObject, attrs: JsonObject, roster: Roster) -> Subject | str:
    """The failed pipeline, with its MR (iid, branches) when the payload has one."""
    pipeline_id = int_at(attrs, "id")
    if pipeline_id is None:
        return "object_attributes.id is missing or not an integer"
    project = read_project(root)
    if project is None:
        return NO_PROJECT
    mr = obj_at(root, "merge_request")
    refs = merge_request_refs(mr) if mr is not None else None
    ref = str_at(attrs, "ref")
    pusher = person(obj_at(root, "user") or {})
    untrusted = roster.caused_by(pusher) is not None
    config_ref, reason = pipeline_config_ref(project, refs, ref, untrusted)
    return Subject(
        project,
        "pipeline",
        int_at(mr, "iid"),
        (),
        config_ref,
        reason,
        pipeline_id=pipeline_id,
        labels=label_titles(list_at(mr, "labels")) or (),
        mr=refs,
        draft=draft_flag(mr) if mr is not None else None,
        ref=ref,
        title=str_at(mr, "title") or str_at(attrs, "name"),
        url=str_at(attrs, "url"),
    )
