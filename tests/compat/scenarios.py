"""The simulator doing, step by step, what each real fixture records GitLab doing.

Each scenario takes the simulator world of tests/simulator (maria the maintainer acts, as root
does in GitLab's examples; `mate-bot` is the bot) with a project hook on a receiver, performs
the one action the fixture shows, and returns the webhook the simulator sent for it.
"""

from __future__ import annotations

from collections.abc import Callable


def _last(world, receiver) -> tuple[dict, dict]:
    world.sim.wait_for_deliveries()
    return receiver.json(), receiver.requests[-1]["headers"]


def issue_assign_update(world, receiver):
    sim, u = world.sim, world.users
    sim.add_issue(world.project, "New API", "d", u["maintainer"], assignees=["dev"], labels=["API"])
    sim.assign_issue(world.project, 1, ["mate-bot"], by=u["maintainer"])
    return _last(world, receiver)


def issue_label_update(world, receiver):
    sim, u = world.sim, world.users
    sim.add_issue(
        world.project, "New API", "d", u["maintainer"], assignees=["mate-bot"], labels=["API"]
    )
    sim.add_labels(world.project, "issue", 1, ["mate"], by=u["maintainer"])
    return _last(world, receiver)


def confidential_issue_assign_update(world, receiver):
    sim, u = world.sim, world.users
    sim.add_issue(world.project, "Secret", "d", u["maintainer"], confidential=True)
    sim.assign_issue(world.project, 1, ["mate-bot"], by=u["maintainer"])
    return _last(world, receiver)


def merge_request_doc_example(world, receiver):
    sim, u = world.sim, world.users
    sim.add_merge_request(
        world.project, "ms-viewport", "main", u["developer"], "MS-Viewport",
        assignees=["mate-bot"], reviewers=["mate-bot"], labels=["API"],
    )  # fmt: skip
    sim.update_merge_request(world.project, 1, u["maintainer"], labels=["Platform"])
    return _last(world, receiver)


def merge_request_open_assigned(world, receiver):
    sim, u = world.sim, world.users
    sim.commit_files(world.project, "ms-viewport", {"a.txt": "a"}, start_branch="main")
    sim.open_merge_request(
        world.project, "ms-viewport", "main", u["maintainer"], "MS-Viewport", assignees=["mate-bot"]
    )
    return _last(world, receiver)


def merge_request_assign_update(world, receiver):
    sim, u = world.sim, world.users
    sim.add_merge_request(world.project, "ms-viewport", "main", u["developer"], "MS-Viewport")
    sim.assign_merge_request(world.project, 1, ["mate-bot"], by=u["maintainer"])
    return _last(world, receiver)


def note_on_issue_mention(world, receiver):
    sim, u = world.sim, world.users
    sim.add_issue(world.project, "New API", "d", u["maintainer"], labels=["API"])
    sim.post_note(world.project, "issue", 1, "@mate-bot please look", u["maintainer"])
    return _last(world, receiver)


def confidential_note_on_issue_mention(world, receiver):
    sim, u = world.sim, world.users
    sim.add_issue(world.project, "New API", "d", u["maintainer"], labels=["API"])
    sim.post_note(world.project, "issue", 1, "@mate-bot internal", u["maintainer"], internal=True)
    return _last(world, receiver)


def note_on_merge_request_mention(world, receiver):
    sim, u = world.sim, world.users
    sim.add_merge_request(
        world.project, "ms-viewport", "main", u["developer"], "MS-Viewport",
        assignees=["mate-bot"], labels=["API"],
    )  # fmt: skip
    sim.post_note(world.project, "merge_request", 1, "@mate-bot tests fail", u["maintainer"])
    return _last(world, receiver)


def pipeline_failed_merge_request(world, receiver):
    sim, u = world.sim, world.users
    mr = sim.add_merge_request(world.project, "ms-viewport", "main", u["developer"], "MS-Viewport")
    sim.fail_pipeline(world.project, "ms-viewport", merge_request=mr, by=u["maintainer"])
    return _last(world, receiver)


def pipeline_failed_branch(world, receiver):
    world.sim.fail_pipeline(world.project, "main", by=world.users["maintainer"])
    return _last(world, receiver)


SCENARIOS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        issue_assign_update,
        issue_label_update,
        confidential_issue_assign_update,
        merge_request_doc_example,
        merge_request_open_assigned,
        merge_request_assign_update,
        note_on_issue_mention,
        confidential_note_on_issue_mention,
        note_on_merge_request_mention,
        pipeline_failed_merge_request,
        pipeline_failed_branch,
    )
}
# Fixtures without a simulator counterpart, and why.
UNPAIRED = {
    "issue_doc_example": "doc example older than User#hook_attrs (assignees without id); "
    "issue_assign_update/issue_label_update cover the same hook",
    "note_on_issue_doc_example": "doc example older than IssueBuilder (no type, no url); "
    "note_on_issue_mention covers it",
    "note_on_merge_request_doc_example": "doc example older than MergeRequestBuilder's "
    "assignee_ids; note_on_merge_request_mention covers it",
    "note_on_commit_doc_example": "the simulator has no commit comments",
    "note_on_snippet_doc_example": "the simulator has no snippets",
    "pipeline_doc_example": "a successful pipeline: detection reads only its status",
    "work_item_task_assign_update": "the simulator has no work items other than issues",
    "work_item_issue_assign_update": "the simulator sends object_kind issue, as current GitLab",
}
