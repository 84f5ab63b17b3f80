"""What Mate's routing reads from GitLab to confirm a delivery and to trust its actor (SPEC §5.2,
§5.3 steps 3a and 4a), as GitLab answers it.

Sources: doc/api/members.md ("List all members ... including inherited and invited members":
direct and ancestor-group memberships, a user listed once with the highest ``access_level``;
``GET /projects/:id/members/all/:user_id``; 404 ``Member Not Found``), lib/api/entities/member.rb
(id, username, name, state, avatar_url, web_url, access_level, created_at, created_by,
expires_at, membership_state), doc/api/notes.md (a note is read through its noteable: a note id
of another issue is 404), doc/api/pipelines.md (``status``, ``ref``, ``user``),
doc/api/merge_requests.md and doc/api/issues.md (``assignees`` and ``author`` with usernames).
"""

from __future__ import annotations

import gitlab
import pytest
import requests

from tests.gitlab_sim import DEVELOPER, MAINTAINER, REPORTER


def _get(world, path: str, who: str = "maintainer") -> requests.Response:
    return requests.get(
        f"{world.sim.url}/api/v4{path}",
        headers={"PRIVATE-TOKEN": world.tokens[who]},
        timeout=10,
    )


def test_member_all_includes_group_memberships_with_the_highest_level(world):
    sim, project = world.sim, world.project
    olga, rita = world.users["outsider"], world.users["reporter"]
    sim.add_group_member("acme", olga, DEVELOPER)  # inherited only
    sim.add_group_member("acme", rita, MAINTAINER)  # direct Reporter, inherited Maintainer

    api = world.api()
    inherited = api.members_all.get(olga.id)
    assert (inherited.username, inherited.access_level) == ("olga", DEVELOPER)
    assert api.members_all.get(rita.id).access_level == MAINTAINER
    assert api.members.get(rita.id).access_level == REPORTER  # direct membership only
    with pytest.raises(gitlab.exceptions.GitlabGetError) as direct:
        api.members.get(olga.id)
    assert direct.value.response_code == 404

    body = _get(world, f"/projects/{project.id}/members/all/{olga.id}").json()
    assert set(body) >= {
        "id",
        "username",
        "name",
        "state",
        "avatar_url",
        "web_url",
        "access_level",
        "created_at",
        "expires_at",
        "membership_state",
    }
    listed = {m.username: m.access_level for m in api.members_all.list(get_all=True)}
    assert listed["olga"] == DEVELOPER and listed["rita"] == MAINTAINER
    direct_list = {m.username for m in api.members.list(get_all=True)}
    assert "olga" not in direct_list


def test_an_inherited_membership_grants_its_permissions(world):
    sim, olga = world.sim, world.users["outsider"]
    with pytest.raises(gitlab.exceptions.GitlabGetError):
        world.api("outsider")  # private project, no membership: 404
    sim.add_group_member("acme", olga, DEVELOPER)
    branch = world.api("outsider").branches.create({"branch": "olga-work", "ref": "main"})
    assert branch.name == "olga-work"


def test_a_user_without_membership_is_404_member_not_found(world):
    sim = world.sim
    public = sim.add_project("oss/lib", visibility="public", members={world.users["bot"]: 30})
    stranger = world.users["outsider"]
    answer = _get(world, f"/projects/{public.id}/members/all/{stranger.id}", who="bot")
    assert answer.status_code == 404
    assert answer.json() == {"message": "404 Member Not Found"}
    # A public project's members are readable by anyone signed in, a stranger included.
    seen = _get(world, f"/projects/{public.id}/members/all/{world.users['bot'].id}", "outsider")
    assert seen.status_code == 200 and seen.json()["access_level"] == 30


def test_a_note_is_read_through_its_own_noteable_only(world):
    sim, project = world.sim, world.project
    maria = world.users["maintainer"]
    first = sim.add_issue(project, "One", author=maria)
    second = sim.add_issue(project, "Two", author=maria)
    sim.post_note(project, "issue", first.iid, "hello @mate-bot", maria)
    note = first.notes[-1]

    found = _get(world, f"/projects/{project.id}/issues/{first.iid}/notes/{note.id}").json()
    assert (found["body"], found["author"]["username"], found["system"]) == (
        "hello @mate-bot",
        "maria",
        False,
    )
    assert (found["noteable_type"], found["noteable_iid"]) == ("Issue", first.iid)
    other = _get(world, f"/projects/{project.id}/issues/{second.iid}/notes/{note.id}")
    assert other.status_code == 404
    missing = _get(world, f"/projects/{project.id}/issues/{first.iid}/notes/999999")
    assert missing.status_code == 404


def test_issue_mr_and_pipeline_reads_name_people_by_username(world):
    sim, project = world.sim, world.project
    maria, dev, bot = world.users["maintainer"], world.users["developer"], world.users["bot"]
    issue = sim.add_issue(project, "Bug", author=dev, assignees=[bot, maria], labels=["bug"])
    mr = sim.add_merge_request(project, "fix", author=dev, assignees=[bot])
    pipeline = sim.add_pipeline(project, "fix", "failed", merge_request=mr, user=dev)

    got = _get(world, f"/projects/{project.id}/issues/{issue.iid}").json()
    assert [a["username"] for a in got["assignees"]] == ["mate-bot", "maria"]
    assert (got["author"]["username"], got["labels"], got["state"]) == ("dev", ["bug"], "opened")
    merge = _get(world, f"/projects/{project.id}/merge_requests/{mr.iid}").json()
    assert [a["username"] for a in merge["assignees"]] == ["mate-bot"]
    assert merge["author"]["username"] == "dev"
    run = _get(world, f"/projects/{project.id}/pipelines/{pipeline.id}").json()
    assert (run["status"], run["user"]["username"], run["user"]["id"]) == ("failed", "dev", dev.id)
    assert _get(world, f"/projects/{project.id}/pipelines/999999").status_code == 404
