"""Quick actions in notes and descriptions written through the API, as GitLab runs them
(Gitlab::QuickActions::Extractor, QuickActions::InterpretService, the action definitions):
executed with their side effects and webhooks, skipped in code and quotes, held to the
author's role, and taken out of the stored text; a note of commands only is not created (202).
"""

from __future__ import annotations

import pytest
import requests

from tests.gitlab_sim.quick_actions import command_lines
from tests.simulator.test_merge_requests import feature


@pytest.fixture
def mr(world):
    feature(world)
    world.sim.state.ensure_label(world.project, "bug")
    world.sim.state.ensure_label(world.project, "needs review")
    created = world.api("developer").mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Add feature"}
    )
    return world.sim.merge_request(world.project, created.iid)


@pytest.fixture
def issue(world):
    world.sim.state.ensure_label(world.project, "bug")
    return world.sim.add_issue(world.project, "Broken", "It breaks", author=world.users["reporter"])


def post_note(world, kind: str, iid: int, body: str, who="maintainer", **extra):
    return requests.post(
        f"{world.sim.api_url}/projects/{world.project.id}/{kind}/{iid}/notes",
        headers={"PRIVATE-TOKEN": world.tokens[who]},
        json={"body": body, **extra},
        timeout=10,
    )


def stored_notes(obj) -> list[str]:
    return [n.body for n in obj.notes if not n.system]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/approve\n/merge\n/assign @joe", ["/approve", "/merge", "/assign @joe"]),
        ("hello\n/reopen\nworld", ["/reopen"]),
        ('/LaBeL ~bug ~"needs review"', ['/label ~bug ~"needs review"']),
        ("/labels ~bug\r\n/remove_label ~bug", ["/label ~bug", "/unlabel ~bug"]),
        ("hello\nworld /close", []),
        ("/assign@joe", []),
        ("  /close", []),
        ("    /close", []),
        ("```\n/close\n```", []),
        ("```sh\n/close\n", []),  # an unclosed fence runs to the end
        ("~~~\n/merge\n~~~\n/close", ["/close"]),
        (">>>\n/close\n/approve\n>>>", []),
        ("> /close", []),
        ("- /close", []),
        ("<div>\n/close\n</div>", []),
        ("see `\n/close\n` here", []),
        ("`/close`", []),
        ("/closed", []),
        ("/shrug", []),  # not a command the simulator runs
    ],
)
def test_what_the_parser_takes_as_commands(text, expected):
    assert command_lines(text) == expected


def test_note_commands_run_and_leave_the_rest_of_the_note(world, mr):
    answer = post_note(
        world, "merge_requests", mr.iid, "Looks good.\n/approve\n/assign @dev\n/label ~bug"
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["body"] == "Looks good."
    assert body["commands_changes"]["assignee_ids"] == [world.users["developer"].id]
    assert world.sim.approved_by(world.project, mr.iid) == ["maria"]
    assert mr.assignee_ids == [world.users["developer"].id] and mr.labels == ["bug"]
    assert stored_notes(mr) == ["Looks good."]
    system = [n.body for n in mr.notes if n.system]
    assert "approved this merge request" in system and "added ~bug label" in system


def test_a_note_of_commands_only_is_not_created_and_answers_202(world, issue):
    answer = post_note(world, "issues", issue.iid, "/close\n/assign @dev\n/label ~bug")
    assert answer.status_code == 202
    assert set(answer.json()) == {"commands_changes", "summary"}
    assert "Closed this issue." in answer.json()["summary"][0]
    assert stored_notes(issue) == []
    assert issue.state == "closed" and issue.labels == ["bug"]
    assert issue.assignee_ids == [world.users["developer"].id]

    again = post_note(world, "issues", issue.iid, "/reopen\n/unassign\n/unlabel")
    assert again.status_code == 202
    assert (issue.state, issue.assignee_ids, issue.labels) == ("opened", [], [])


def test_commands_in_code_and_quotes_are_text(world, mr):
    text = "```\n/approve\n```\n\n>>>\n/unapprove\n>>>\n\n> /close\n\nrun `/merge` later"
    answer = post_note(world, "merge_requests", mr.iid, text)
    assert answer.status_code == 201 and answer.json()["body"] == text
    assert world.sim.approved_by(world.project, mr.iid) == [] and mr.state == "opened"


def test_commands_are_held_to_the_authors_role(world, mr, issue):
    # A Reporter may comment, label and assign issues but not approve, merge or update the MR.
    answer = post_note(world, "merge_requests", mr.iid, "/approve\n/close\n/merge", who="reporter")
    assert answer.status_code == 202
    assert answer.json()["summary"] == [
        "Could not apply approve command. Could not apply close command. "
        "Could not apply merge command."
    ]
    assert world.sim.approved_by(world.project, mr.iid) == [] and mr.state == "opened"
    # A Guest cannot even label an issue; the line is still removed from the note.
    answer = post_note(world, "issues", issue.iid, "hi\n/label ~bug\n/close", who="guest")
    assert answer.status_code == 201 and answer.json()["body"] == "hi"
    assert issue.labels == [] and issue.state == "opened"


def test_merge_needs_the_head_sha_of_the_request(world, mr):
    assert post_note(world, "merge_requests", mr.iid, "/merge").status_code == 202
    assert mr.state == "opened"  # GitLab: "/merge requires the SHA of the head of the branch"
    head = world.sim.mr_status(world.project, mr)["head_sha"]
    answer = post_note(world, "merge_requests", mr.iid, "/merge", merge_request_diff_head_sha=head)
    assert answer.status_code == 202 and mr.state == "merged"
    assert answer.json()["commands_changes"] == {"merge": head}


def test_move_and_clone_copy_the_issue_to_a_project_the_author_administers(world, issue):
    other = world.sim.add_project("acme/other", members={world.users["maintainer"]: 40})
    assert post_note(world, "issues", issue.iid, "/clone acme/other").status_code == 202
    assert [i.title for i in other.issues.values()] == ["Broken"] and issue.state == "opened"
    assert post_note(world, "issues", issue.iid, "/move acme/other").status_code == 202
    assert len(other.issues) == 2 and issue.state == "closed"
    assert any(n.body.startswith("moved to acme/other#") for n in issue.notes if n.system)
    # A Reporter here who is no member there cannot move it.
    fresh = world.sim.add_issue(world.project, "Another", "", author=world.users["reporter"])
    assert post_note(world, "issues", fresh.iid, "/move acme/other", who="reporter").ok
    assert len(other.issues) == 2 and fresh.state == "opened"


def test_description_commands_run_on_create_and_update(world, mr):
    api = world.api("maintainer")
    created = api.issues.create(
        {"title": "New", "description": "Text\n/label ~bug\n/assign @dev\n/close"}
    )
    issue = world.sim.issue(world.project, created.iid)
    assert created.description == "Text" and issue.labels == ["bug"]
    assert issue.assignee_ids == [world.users["developer"].id]
    assert issue.state == "opened"  # /close needs an existing issue
    api.issues.update(created.iid, {"description": "Edited\n/close"})
    assert issue.description == "Edited" and issue.state == "closed"
    # On create an MR's /merge and /approve do nothing (no MR yet); /label does.
    feature(world, branch="second")
    opened = api.mergerequests.create(
        {
            "source_branch": "second",
            "target_branch": "main",
            "title": "Second",
            "description": "/merge\n/approve\n/label ~bug",
        }
    )
    second = world.sim.merge_request(world.project, opened.iid)
    assert (opened.description, second.labels, second.state) == ("", ["bug"], "opened")
    assert second.approvals == []
    # On an MR update a description's /approve acts at once.
    api.mergerequests.update(mr.iid, {"description": "Ready\n/approve"})
    assert mr.description == "Ready" and world.sim.approved_by(world.project, mr.iid) == ["maria"]


def test_commands_send_the_webhooks_a_person_would(world, issue, receiver):
    world.sim.add_hook(world.project, receiver.url, events=["issues", "note"])
    post_note(world, "issues", issue.iid, "Closing.\n/close")
    world.sim.wait_for_deliveries()
    kinds = [r["headers"].get("X-Gitlab-Event") for r in receiver.requests]
    assert kinds == ["Note Hook", "Issue Hook"]
    assert receiver.json(-1)["object_attributes"]["action"] == "close"
