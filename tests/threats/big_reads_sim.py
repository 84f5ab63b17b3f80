"""A GitLab simulator in a process of its own, holding a 30 MB CI log and a 60 MB file (T45).

``python -m tests.threats.big_reads_sim`` starts it on 127.0.0.1, seeds the world, prints one
JSON line describing it and serves until its stdin closes. In its own process the simulator's
memory is never counted as the memory of the Mate process that serves the tool call.
"""

from __future__ import annotations

import json
import sys

from tests.gitlab_sim import MAINTAINER, GitLabSim

TRACE_LINES = 600_000  # 50 bytes each: 30 MB
TRACE_LAST = "ERROR: Job failed: exit code 1"
FILE_BYTES = 60 * 1024 * 1024
SMALL_FILE = "src/app.py"
AT_CAP_BYTES = 1_000_000  # Mate's get_file cap: the largest file it reads


def trace_text() -> str:
    lines = [f"{n:09d} compiling module and printing what it did\n" for n in range(TRACE_LINES)]
    return "".join(lines) + TRACE_LAST + "\n"


def seed(sim: GitLabSim) -> dict:
    bot = sim.add_user("mate-bot")
    human = sim.add_user("alice")
    pat = sim.add_pat(bot, scopes=["api"])
    project = sim.add_project(
        "acme/widget",
        files={"README.md": "# widget\n", SMALL_FILE: "def main():\n    return 1\n"},
        members={bot: MAINTAINER, human: MAINTAINER},
    )
    block = b"".join(b"%015d row of generated data\n" % n for n in range(2_500_000 // 40))
    huge = (block * (FILE_BYTES // len(block) + 1))[:FILE_BYTES]
    at_cap = bytes(range(256)) * (AT_CAP_BYTES // 256) + b"\xff" * (AT_CAP_BYTES % 256)
    files = {"data/huge.bin": huge, "data/at-cap.bin": at_cap}
    sim.commit_files(project, "main", files, "A 60 MB file and one of 1 MB", human)
    del huge, files
    pipeline = sim.add_pipeline(
        project,
        "main",
        status="failed",
        jobs=[
            {"name": "flood", "status": "failed", "log": trace_text()},
            {"name": "short", "status": "failed", "log": "one\ntwo\n" + TRACE_LAST + "\n"},
        ],
    )
    return {
        "url": sim.url,
        "pat": pat,
        "bot_id": bot.id,
        "project_id": project.id,
        "project_path": project.path_with_namespace,
        "flood_job": pipeline.jobs[0].id,
        "short_job": pipeline.jobs[1].id,
        "file_bytes": FILE_BYTES,
    }


def main() -> None:
    sim = GitLabSim().start()
    try:
        print(json.dumps(seed(sim)), flush=True)
        sys.stdin.read()  # until the test closes our stdin
    finally:
        sim.stop()
        if sim.server_errors:
            print("\n".join(sim.server_errors), file=sys.stderr, flush=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
