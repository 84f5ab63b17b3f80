"""Run the simulator alone with a small demo world: ``python -m tests.gitlab_sim --port 8929``."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading

from .models import MAINTAINER, REPORTER
from .sim import GitLabSim

MATE_YML = """\
agents:
  fixer:
    triggers:
      - on: issue_assigned
"""
CI = """\
test:
  script: make test
"""


def seed(
    sim: GitLabSim, hook_url: str | None, hook_token: str | None
) -> list[tuple[str, str, str]]:
    alice = sim.add_user("alice", "Alice Admin")
    bob = sim.add_user("bob", "Bob Builder")
    bot = sim.add_user("mate-bot", "Mate Bot")
    tokens = [
        ("alice", "api (Maintainer)", sim.add_pat(alice, ["api"], name="alice-api")),
        ("bob", "api (Reporter)", sim.add_pat(bob, ["api"], name="bob-api")),
        (
            "mate-bot",
            "api, expires in 90 days (Maintainer)",
            sim.add_pat(
                bot, ["api"], dt.datetime.now(dt.UTC).date() + dt.timedelta(days=90), "mate"
            ),
        ),
    ]
    project = sim.add_project(
        "acme/widgets",
        description="Demo project",
        files={
            "README.md": "# Widgets\n\nA demo project.\n",
            "src/widgets.py": "def area(w, h):\n    return w * h\n",
            "tests/test_widgets.py": "from src.widgets import area\n\n\ndef test_area():\n    assert area(2, 3) == 6\n",
            ".gitlab-ci.yml": CI,
            ".mate.yml": MATE_YML,
        },
        members={alice: MAINTAINER, bob: REPORTER, bot: MAINTAINER},
        protected_branches=["main"],
    )
    sim.add_issue(
        project, "Area is wrong for negative sizes", "Negative widths give negative areas.", bob
    )
    sim.commit_files(
        project,
        "fix-negative",
        {"src/widgets.py": "def area(w, h):\n    return abs(w * h)\n"},
        "Use abs() for the area",
        alice,
        start_branch="main",
    )
    mr = sim.add_merge_request(
        project, "fix-negative", "main", alice, "Fix negative areas", assignees=[bot]
    )
    sim.add_pipeline(
        project,
        "fix-negative",
        "failed",
        jobs=[
            {
                "name": "test",
                "status": "failed",
                "log": "$ make test\n1 failed\nERROR: Job failed\n",
            }
        ],
        merge_request=mr,
    )
    if hook_url:
        sim.add_hook(project, hook_url, token=hook_token)
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description="GitLab simulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8929)
    parser.add_argument("--hook-url", help="add a project webhook to this (loopback) URL")
    parser.add_argument("--hook-token", help="X-Gitlab-Token for that webhook")
    args = parser.parse_args()
    sim = GitLabSim(port=args.port).start()
    tokens = seed(sim, args.hook_url, args.hook_token)
    print(f"GitLab simulator: {sim.url}  (API {sim.api_url})")
    print("project: acme/widgets  (issue #1, MR !1 with a failed pipeline)")
    for username, what, token in tokens:
        print(f"  {username:<10} {what:<40} {token}")
    print(f"clone:  git clone {sim.clone_url('acme/widgets', tokens[0][2])}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    sim.stop()


if __name__ == "__main__":
    main()
