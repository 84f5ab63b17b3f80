"""The real GitLab payloads (fixtures/*.json) and what Mate's detection must make of them.

Each fixture file holds `hook` (the X-Gitlab-Event it is delivered with), `source` (where in
gitlab-org/gitlab it comes from), for builder variants `derived_from`, `builders_followed` and
`changed`, free `notes`, and the `payload`. A `Case` runs one fixture with one roster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jobs.events import MATE_CAUSED, NO_BOT, BotRef

FIXTURES = Path(__file__).parent / "fixtures"

MATE = BotRef(7, "mate-bot")
REVIEW = BotRef(8, "mate-review")
USER1 = BotRef(51, "user1")  # the docs' example assignee, registered as a bot for their examples
USER1_MR = BotRef(6, "user1")  # the same name with the id the MR example gives it
ROOT = BotRef(1, "root")  # the docs' actor, registered as a bot to see Mate's own actions ignored


@dataclass(frozen=True)
class Fixture:
    name: str
    hook: str
    payload: dict
    meta: dict


def fixture(name: str) -> Fixture:
    """A fixture by file stem, parsed afresh (callers may change their copy)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    meta = {k: v for k, v in data.items() if k not in ("hook", "payload")}
    return Fixture(name, data["hook"], data["payload"], meta)


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json") if p.stem != "headers")


# (event, acting bot, object kind, iid or pipeline id, config ref, new label)
Expected = tuple[str, str, str, int | None, str | None, str | None]


@dataclass(frozen=True)
class Case:
    """`fixture` through detection with `bots`/`default`: these events, or this reason."""

    fixture: str
    bots: tuple[BotRef, ...]
    default: str | None
    events: tuple[Expected, ...] = ()
    ignored: str | None = None

    @property
    def id(self) -> str:
        roster = "+".join(b.username for b in self.bots) or "none"
        return f"{self.fixture}[{roster};default={self.default}]"


CASES: tuple[Case, ...] = (
    # Doc examples, verbatim.
    Case(
        "issue_doc_example",
        (USER1,),
        None,
        (
            ("issue_assigned", "user1", "issue", 23, "master", None),
            ("label_applied", "user1", "issue", 23, "master", "Platform"),
        ),
    ),
    Case("issue_doc_example", (MATE,), "mate-bot", ignored=NO_BOT),
    Case("issue_doc_example", (ROOT, USER1), None, ignored=MATE_CAUSED),
    Case(
        "merge_request_doc_example",
        (USER1_MR,),
        None,
        (
            ("mr_opened", "user1", "merge_request", 1, "ms-viewport", None),
            ("mr_assigned", "user1", "merge_request", 1, "ms-viewport", None),
            ("label_applied", "user1", "merge_request", 1, "ms-viewport", "Platform"),
        ),
    ),
    Case(
        "merge_request_doc_example",
        (MATE,),
        "mate-bot",
        (("mr_opened", "mate-bot", "merge_request", 1, "ms-viewport", None),),
    ),
    Case("note_on_merge_request_doc_example", (MATE,), "mate-bot", ignored=NO_BOT),
    Case("note_on_issue_doc_example", (MATE,), "mate-bot", ignored=NO_BOT),
    Case("note_on_commit_doc_example", (MATE,), "mate-bot", ignored="note on a commit/snippet"),
    Case("note_on_snippet_doc_example", (MATE,), "mate-bot", ignored="note on a commit/snippet"),
    Case(
        "pipeline_doc_example",
        (MATE,),
        "mate-bot",
        ignored="pipeline status is success, not failed",
    ),
    # Builder variants.
    Case(
        "issue_assign_update",
        (MATE, REVIEW),
        "mate-review",
        (("issue_assigned", "mate-bot", "issue", 23, "master", None),),
    ),
    Case(
        "issue_assign_update",
        (USER1, MATE),
        None,
        (("issue_assigned", "mate-bot", "issue", 23, "master", None),),
    ),
    Case("issue_assign_update", (MATE, ROOT), None, ignored=MATE_CAUSED),
    Case(
        "issue_label_update",
        (MATE,),
        None,
        (("label_applied", "mate-bot", "issue", 23, "master", "mate"),),
    ),
    Case("issue_label_update", (REVIEW,), "mate-review", ignored=NO_BOT),
    Case(
        "confidential_issue_assign_update",
        (MATE,),
        None,
        (("issue_assigned", "mate-bot", "issue", 23, "master", None),),
    ),
    Case(
        "work_item_task_assign_update",
        (MATE,),
        "mate-bot",
        ignored="work item of type Task is not an issue",
    ),
    Case(
        "work_item_issue_assign_update",
        (MATE,),
        None,
        (("issue_assigned", "mate-bot", "issue", 25, "master", None),),
    ),
    Case(
        "merge_request_open_assigned",
        (REVIEW, MATE),
        "mate-review",
        (
            ("mr_opened", "mate-bot", "merge_request", 1, "ms-viewport", None),
            ("mr_assigned", "mate-bot", "merge_request", 1, "ms-viewport", None),
        ),
    ),
    Case(
        "merge_request_assign_update",
        (MATE,),
        None,
        (("mr_assigned", "mate-bot", "merge_request", 1, "ms-viewport", None),),
    ),
    Case(
        "note_on_issue_mention",
        (MATE, REVIEW),
        "mate-review",
        (("comment_mention", "mate-bot", "issue", 23, "master", None),),
    ),
    Case("note_on_issue_mention", (MATE, ROOT), None, ignored=MATE_CAUSED),
    Case(
        "confidential_note_on_issue_mention",
        (MATE,),
        None,
        (("comment_mention", "mate-bot", "issue", 23, "master", None),),
    ),
    Case(
        "note_on_merge_request_mention",
        (MATE,),
        None,
        (("comment_mention", "mate-bot", "merge_request", 1, "ms-viewport", None),),
    ),
    # The MR is "assigned" to mate-review in GitLab, but the Pipeline Hook cannot say so:
    # detection names the default bot (or, with none, the first bot as a stand-in) and routing
    # reads the MR's assignees through the API to pick the acting bot (SPEC §5.2).
    Case(
        "pipeline_failed_merge_request",
        (MATE, REVIEW),
        "mate-bot",
        (("pipeline_failed", "mate-bot", "pipeline", 31, "ms-viewport", None),),
    ),
    Case(
        "pipeline_failed_merge_request",
        (MATE,),
        None,
        (("pipeline_failed", "mate-bot", "pipeline", 31, "ms-viewport", None),),
    ),
    Case(
        "pipeline_failed_branch",
        (MATE,),
        "mate-bot",
        (("pipeline_failed", "mate-bot", "pipeline", 31, "master", None),),
    ),
)
