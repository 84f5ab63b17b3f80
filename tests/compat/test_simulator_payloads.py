"""The simulator's webhooks against real GitLab payloads (issue 17: payload compatibility, b).

For every fixture with a simulator scenario, the simulator performs the same action and its
delivery is compared with GitLab's payload field by field, for every field Mate's event
detection reads: the paths are recorded while detection runs over both payloads
(`recording.read_paths`), so a field detection starts to read is compared from then on. What is
compared is presence and JSON shape (type, timestamp and URL form, empty or not), not values.

A second check keeps detection itself honest: a field it reads that no real payload of that hook
carries is a field GitLab never sends. Each must be listed in KNOWN_GAPS with the reason.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from .catalogue import CASES, fixture, fixture_names
from .recording import differences, find, read_paths
from .scenarios import SCENARIOS, UNPAIRED

_HOOK_FAMILY = {
    "Issue Hook": "issue",
    "Confidential Issue Hook": "issue",
    "Note Hook": "note",
    "Confidential Note Hook": "note",
    "Merge Request Hook": "merge_request",
    "Pipeline Hook": "pipeline",
}

# Fields detection reads that GitLab never sends, per hook family.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    # Read where a payload has them (some hooks' objects do); routing replaces them, and every
    # other fact a trigger condition uses, with GitLab's answer (SPEC §5.3 step 3a).
    **dict.fromkeys(
        [
            ("pipeline", "merge_request.labels"),
            ("pipeline", "merge_request.draft"),
            ("pipeline", "merge_request.work_in_progress"),
            ("note", "issue.assignees"),
            ("note", "merge_request.assignees"),
        ],
        "not in GitLab's payload; routing confirms with GitLab and matches on its answer",
    ),
    # Harmless reads of keys another hook has.
    ("pipeline", "merge_request.author_id"): "involved_user_ids reads the MR author of every "
    "delivery; the Pipeline Hook's merge_request has none (the MR author is not looked up)",
    ("pipeline", "object_attributes.author_id"): "involved_user_ids reads a note's author_id on "
    "every delivery; a pipeline has no author_id",
    ("issue", "merge_request"): "involved_user_ids looks for a root merge_request (Note and "
    "Pipeline Hooks have one); Issue Hooks never do",
    ("merge_request", "merge_request"): "as for issues: the MR of an MR Hook is object_attributes",
}


def _roster(name: str):
    case = next(c for c in CASES if c.fixture == name)
    return case.bots, case.default


def _paths(hook: str, payload: dict, name: str) -> set[str]:
    bots, default = _roster(name)
    return read_paths(hook, payload, bots, default)


def test_every_fixture_is_paired_or_says_why_not() -> None:
    for name in fixture_names():
        assert (name in SCENARIOS) != (name in UNPAIRED), name
    assert set(SCENARIOS) | set(UNPAIRED) <= set(fixture_names())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_simulator_sends_what_gitlab_sends(name, world, receiver) -> None:
    world.sim.add_hook(world.project, receiver.url, token="s3cret")
    real = fixture(name)
    emitted, headers = SCENARIOS[name](world, receiver)
    assert headers["X-Gitlab-Event"] == real.hook
    # KNOWN_GAPS are compared too: GitLab leaves them out, so must the simulator.
    paths = _paths(real.hook, real.payload, name) | _paths(real.hook, emitted, name)
    diff = differences(real.payload, emitted, paths)
    assert not diff, f"{name}: the simulator differs from GitLab on fields Mate reads:\n" + (
        "\n".join(diff)
    )


def test_detection_reads_only_fields_gitlab_sends() -> None:
    read: dict[str, set[str]] = defaultdict(set)
    sent: dict[str, set[str]] = defaultdict(set)
    for name in fixture_names():
        fx = fixture(name)
        family = _HOOK_FAMILY[fx.hook]
        for path in _paths(fx.hook, fx.payload, name):
            read[family].add(path)
            found = find(fx.payload, path)
            if found.present or found.blocked:
                sent[family].add(path)
    never_sent = {(f, p) for f, paths in read.items() for p in paths - sent[f]}
    unlisted = sorted(never_sent - set(KNOWN_GAPS))
    assert not unlisted, (
        "detection reads fields no real GitLab payload of that hook carries; make detection "
        f"resolve them another way, or list them in KNOWN_GAPS with the reason: {unlisted}"
    )
    stale = sorted(set(KNOWN_GAPS) - never_sent)
    assert not stale, f"KNOWN_GAPS lists fields detection no longer reads: remove {stale}"


def test_pipeline_hook_project_and_attributes_are_gitlabs(world, receiver) -> None:
    """Beyond what detection reads: the Pipeline Hook's project is Project#hook_attrs(backward:
    false) and object_attributes carries protected_ref (lib/gitlab/data_builder/pipeline.rb)."""
    world.sim.add_hook(world.project, receiver.url)
    emitted, _ = SCENARIOS["pipeline_failed_branch"](world, receiver)
    real = fixture("pipeline_failed_branch").payload
    assert set(emitted["project"]) == set(real["project"])
    assert emitted["object_attributes"]["protected_ref"] is True  # main is protected
    assert set(real["object_attributes"]) <= set(emitted["object_attributes"])
