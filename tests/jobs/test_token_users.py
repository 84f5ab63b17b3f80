"""The GitLab users of the tokens Mate minted: recorded at minting, kept after revocation, and
looked up per delivery for "events Mate caused" (SPEC §5.2, §6.2; T32)."""

from __future__ import annotations

import pytest

from jobs import credentials
from jobs.models import JobStatus
from tests.gitlab_sim import api_users
from tests.jobs.test_credentials import Gl, gl
from tests.jobs.test_events import note_payload
from tests.tenants.factories import TenantFactory, make_bot

__all__ = ["gl"]  # the simulator world of tests/jobs/test_credentials.py

pytestmark = pytest.mark.django_db


def test_each_minted_token_records_its_user_and_keeps_it_after_revocation(gl: Gl):
    job = gl.job(["read", "push_branch"])
    key = credentials.mint_gitlab_key(job)
    clone = credentials.mint_clone_token(job)
    key_user = gl.sim.token_record(key.reveal_secret("value")).user_id
    clone_user = gl.sim.token_record(clone).user_id
    rows = {row.kind: row.gitlab_user_id for row in job.tokens.all()}
    assert rows == {"gitlab_key": key_user, "clone_token": clone_user}
    assert gl.sim.user(key_user).username.startswith(f"project_{gl.project.id}_bot_")
    job.status = JobStatus.DONE
    job.save()
    credentials.revoke_job_tokens(job)
    for row in job.tokens.all():
        assert row.revoked_at is not None and row.value_ciphertext == ""
        assert row.gitlab_user_id in (key_user, clone_user)


def test_minted_users_in_a_delivery_are_the_tenants_own(gl: Gl):
    mine = credentials.mint_gitlab_key(gl.job(["comment"]))
    mine_id = gl.sim.token_record(mine.reveal_secret("value")).user_id
    # A second tenant on the same GitLab (same bot account), with its own job and key.
    other = TenantFactory(gitlab_url=gl.sim.url)
    make_bot(other, username="mate-bot", token=gl.pat, gitlab_user_id=gl.bot_user.id)
    their_job = gl.job(["comment"])
    their_job.tenant = other
    their_job.save(update_fields=["tenant"])
    theirs = credentials.mint_gitlab_key(their_job)
    theirs_id = gl.sim.token_record(theirs.reveal_secret("value")).user_id

    payload = note_payload("@mate-bot hi", author=(mine_id, "project_1_bot_x"))
    assert credentials.minted_users_in(gl.tenant, payload) == {mine_id}
    assert credentials.minted_users_in(other, payload) == frozenset()
    payload = note_payload("@mate-bot hi", author=(theirs_id, "project_1_bot_y"))
    assert credentials.minted_users_in(gl.tenant, payload) == frozenset()
    assert credentials.minted_users_in(gl.tenant, "not a payload") == frozenset()


def test_a_create_answer_without_user_id_records_none(gl: Gl, monkeypatch):
    real = api_users.token_entity

    def without_user(*args, **kwargs):
        data = real(*args, **kwargs)
        data.pop("user_id", None)
        return data

    monkeypatch.setattr(api_users, "token_entity", without_user)
    key = credentials.mint_gitlab_key(gl.job(["comment"]))
    assert key is not None and key.gitlab_user_id is None
