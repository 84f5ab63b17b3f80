"""Credentials of a job (SPEC §6.2; THREATS T7, T8, T12, T26) against the GitLab simulator."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import requests
import time_machine
from django.db import connection
from django.utils import timezone

from jobs import credentials
from jobs.credentials import CredentialError
from jobs.models import FINAL_STATUSES, Job, JobEvent, JobStatus, JobToken
from tests.tenants.factories import TenantFactory, make_bot

pytestmark = pytest.mark.django_db

KEY = JobToken.Kind.GITLAB_KEY
CLONE = JobToken.Kind.CLONE_TOKEN
SHAPE = re.compile(r"mjt_[A-Za-z0-9_-]{43}")


class Gl:
    """A tenant on the simulator: its bot (a Maintainer, registered with its PAT) and project."""

    def __init__(self, sim, access_tokens_allowed: bool = True, bot_level: int = 40) -> None:
        self.sim = sim
        self.bot_user = sim.add_user("mate-bot")
        self.pat = sim.add_pat(self.bot_user, scopes=["api"])
        self.project = sim.add_project(
            "acme/widget",
            members={self.bot_user: bot_level},
            access_tokens_allowed=access_tokens_allowed,
        )
        self.tenant = TenantFactory(gitlab_url=sim.url)
        make_bot(self.tenant, username="mate-bot", token=self.pat, gitlab_user_id=self.bot_user.id)

    def set_gitlab_url(self, url: str) -> None:
        """Where the tenant and its bot talk to GitLab (a bot's tokens go only to its own URL)."""
        self.tenant.gitlab_url = url
        self.tenant.save()
        self.tenant.bots.update(gitlab_url=url)

    def job(self, authorities=("read",), status=JobStatus.RUNNING, timeout=600) -> Job:
        return Job.objects.create(
            tenant=self.tenant,
            event_key=uuid.uuid4().hex,
            event="issue_assigned",
            bot_username="mate-bot",
            agent="helper",
            trigger="tenant[0]",
            project_id=self.project.id,
            project_path=self.project.path_with_namespace,
            object_kind="issue",
            object_iid=1,
            loop_key="issue/1",
            status=status,
            snapshot={
                "authorities": list(authorities),
                "project": {"id": self.project.id, "path": self.project.path_with_namespace},
                "timeout_seconds": timeout,
                "bot": "mate-bot",
            },
        )

    def info_refs(self, token: str) -> int:
        """What a clone's first request with ``token`` gets (200 = allowed)."""
        url = f"{self.sim.url}/{self.project.path_with_namespace}.git/info/refs"
        answer = requests.get(
            url, params={"service": "git-upload-pack"}, auth=("oauth2", token), timeout=10
        )
        return answer.status_code

    def deletes(self) -> list:
        return self.sim.requests_to("DELETE", "/access_tokens/")

    def mints(self) -> list:
        return [r for r in self.sim.requests_to("POST", "/access_tokens") if r.status == 201]


@pytest.fixture
def gl(gitlab_sim, settings) -> Gl:
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    return Gl(gitlab_sim)


def age(token: JobToken, minutes: float) -> None:
    JobToken.objects.filter(pk=token.pk).update(
        minted_at=timezone.now() - timedelta(minutes=minutes)
    )


def plaintext_in_database(values: list[str]) -> list[str]:
    """Every row of every table in the database, searched for each of ``values``."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            text = repr(cursor.fetchall())
            hits += [f"{table}: {v[:8]}…" for v in values if v in text]
    return hits


def value_of(token: JobToken) -> str:
    return JobToken.objects.get(pk=token.pk).reveal_secret("value")


# -- job credential --------------------------------------------------------------------------
def test_credential_is_opaque_and_only_its_hash_is_stored(gl):
    job = gl.job(timeout=900)
    before = timezone.now()
    token = credentials.issue_job_credential(job)
    job.refresh_from_db()
    assert SHAPE.fullmatch(token)
    assert job.credential_hash == hashlib.sha256(token.encode()).hexdigest()
    expected = before + timedelta(seconds=900) + timedelta(minutes=5)
    assert abs((job.credential_expires_at - expected).total_seconds()) < 5
    assert plaintext_in_database([token]) == []
    assert plaintext_in_database([job.credential_hash])  # the scan does see stored values
    assert str(job.tenant.uid) not in token


@pytest.mark.parametrize("status", [JobStatus.STARTING, JobStatus.RUNNING])
def test_credential_authenticates_while_the_job_is_live(gl, status):
    job = gl.job(status=status)
    token = credentials.issue_job_credential(job)
    assert credentials.authenticate(token) == job


def test_credential_is_refused_from_the_cancel_request_and_while_finishing(gl):
    """T46: a stopping job's agent writes nothing more, whatever stopped it."""
    job = gl.job(status=JobStatus.RUNNING)
    token = credentials.issue_job_credential(job)
    Job.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
    assert credentials.authenticate(token) is None  # still RUNNING: the worker has not acted
    Job.objects.filter(pk=job.pk).update(cancel_requested_at=None, status=JobStatus.FINISHING)
    assert credentials.authenticate(token) is None  # a timeout or budget stop: no cancel row


def test_credential_is_refused_one_second_after_expiry(gl):
    """T7: expiry is checked on every call."""
    job = gl.job()
    token = credentials.issue_job_credential(job)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(credential_expires_at=now + timedelta(seconds=1))
    assert credentials.authenticate(token) == job
    Job.objects.filter(pk=job.pk).update(credential_expires_at=now - timedelta(seconds=1))
    assert credentials.authenticate(token) is None


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_credential_is_refused_after_the_job_ended(gl, status):
    """T8: replay after finish, even well before the expiry."""
    job = gl.job()
    token = credentials.issue_job_credential(job)
    Job.objects.filter(pk=job.pk).update(status=status)
    assert credentials.authenticate(token) is None


def test_issuing_again_replaces_the_previous_credential(gl):
    job = gl.job()
    first = credentials.issue_job_credential(job)
    second = credentials.issue_job_credential(job)
    assert first != second
    assert credentials.authenticate(first) is None
    assert credentials.authenticate(second) == job


def test_credentials_of_two_jobs_do_not_mix(gl):
    one, two = gl.job(), gl.job()
    token_one = credentials.issue_job_credential(one)
    token_two = credentials.issue_job_credential(two)
    assert credentials.authenticate(token_one) == one
    assert credentials.authenticate(token_two) == two


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        0,
        b"mjt_bytes",
        ["mjt_"],
        "mjt_",
        "mjt_" + "A" * 43,
        "mjt_" + "A" * 44,
        "Bearer mjt_" + "A" * 43,
        "mjt_" + "\x00" * 43,
        "mjt_" + "\ud800" * 43,
        "mjt_" + "é" * 43,
        "x" * 100_000,
        "' OR 1=1 --",
    ],
)
def test_garbage_never_authenticates_nor_raises(gl, garbage):
    job = gl.job()
    credentials.issue_job_credential(job)
    Job.objects.create(
        tenant=gl.tenant,
        event_key="no-credential",
        event="issue_assigned",
        bot_username="mate-bot",
        agent="helper",
        trigger="tenant[0]",
        project_id=1,
        object_kind="issue",
        loop_key="issue/1",
        status=JobStatus.RUNNING,
    )
    assert credentials.authenticate(garbage) is None


def test_the_stored_hash_is_not_a_credential(gl):
    job = gl.job()
    credentials.issue_job_credential(job)
    job.refresh_from_db()
    assert credentials.authenticate(job.credential_hash) is None
    assert credentials.authenticate("mjt_" + job.credential_hash[:43]) is None


# -- scopes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("authorities", "scopes", "level"),
    [
        ({"read"}, ["read_api", "read_repository"], 20),
        ({"read", "comment"}, ["api"], 20),
        ({"comment"}, ["api"], 20),
        ({"read", "comment", "push_branch"}, ["api", "write_repository"], 30),
        ({"read", "push_mr_branch"}, ["api", "write_repository"], 30),
        ({"read", "open_mr"}, ["api", "write_repository"], 30),
        ({"read", "touch_ci"}, ["api", "write_repository"], 30),
        ({"merge"}, ["api", "write_repository"], 30),
    ],
)
def test_scopes_are_the_narrowest_that_cover_the_authorities(authorities, scopes, level):
    assert credentials.scopes_for(authorities) == (scopes, level)


def test_no_authority_no_scopes():
    with pytest.raises(CredentialError):
        credentials.scopes_for([])


# -- per-job key -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("authorities", "scopes", "level"),
    [
        (["read"], ["read_api", "read_repository"], 20),
        (["read", "comment"], ["api"], 20),
        (["read", "comment", "push_branch", "open_mr"], ["api", "write_repository"], 30),
        (["read", "merge"], ["api", "write_repository"], 30),
    ],
)
def test_gitlab_key_is_minted_with_the_scopes_of_the_authorities(gl, authorities, scopes, level):
    job = gl.job(authorities)
    key = credentials.mint_gitlab_key(job)
    assert key is not None and key.kind == KEY
    [post] = gl.mints()
    assert post.token == gl.pat
    assert post.path == f"/api/v4/projects/{gl.project.id}/access_tokens"
    assert post.body["name"] == f"mate-job-{job.uid.hex[:8]}"
    after_tomorrow = timezone.now().astimezone(UTC).date() + timedelta(days=2)
    assert post.body["expires_at"] == after_tomorrow.isoformat()
    record = gl.sim.token_record(value_of(key))
    assert sorted(record.scopes) == sorted(scopes)
    assert record.access_level == level
    assert record.project_id == gl.project.id
    assert record.expires_at == after_tomorrow
    assert key.gitlab_token_id == record.id
    assert (key.scopes, key.access_level) == (scopes, level)
    assert not job.uses_bot_pat


@pytest.mark.parametrize(
    ("now", "expires"),
    [
        (datetime(2030, 3, 9, 0, 0, tzinfo=UTC), date(2030, 3, 11)),
        (datetime(2030, 3, 9, 23, 59, 59, tzinfo=UTC), date(2030, 3, 11)),
        (datetime(2030, 12, 31, 23, 30, tzinfo=UTC), date(2031, 1, 2)),
        # 01:30 in UTC+2 is still the 9th's 23:30 at UTC: the UTC date counts
        (datetime.fromisoformat("2030-03-10T01:30:00+02:00"), date(2030, 3, 11)),
    ],
)
def test_gitlab_expiry_is_the_day_after_tomorrow_utc(now, expires):
    assert credentials.gitlab_expiry_date(now) == expires


def test_every_token_minted_at_23_59_utc_lives_past_midnight(gl):
    """The per-job key and the clone token share the one expiry rule; both still work a minute
    after midnight UTC (GitLab's expiry is 00:00 UTC of expires_at)."""
    day = timezone.now().astimezone(UTC).date() + timedelta(days=1)
    with time_machine.travel(datetime.combine(day, time(23, 59, 30), UTC), tick=True) as clock:
        job = gl.job(["read", "comment"])
        key = credentials.mint_gitlab_key(job)
        clone = credentials.mint_clone_token(job)
        clock.move_to(datetime.combine(day + timedelta(days=1), time(0, 1), UTC))
        assert {post.body["expires_at"] for post in gl.mints()} == {
            (day + timedelta(days=2)).isoformat()
        }
        assert gl.info_refs(clone) == 200
        answer = requests.get(
            f"{gl.sim.api_url}/projects/{gl.project.id}",
            headers={"PRIVATE-TOKEN": value_of(key)},
            timeout=10,
        )
        assert answer.status_code == 200


def test_minting_twice_while_fresh_keeps_one_key(gl):
    job = gl.job()
    first = credentials.mint_gitlab_key(job)
    again = credentials.mint_gitlab_key(job)
    assert again == first
    assert len(gl.mints()) == 1


def test_the_tool_service_client_uses_the_job_key(gl):
    job = gl.job(["read", "comment"])
    key = credentials.mint_gitlab_key(job)
    client = credentials.gitlab_client_for(job)
    client.projects.get(gl.project.id)
    last = gl.sim.requests[-1]
    assert last.path == f"/api/v4/projects/{gl.project.id}"
    assert last.token == value_of(key) and last.status == 200


def test_no_client_for_a_final_job(gl):
    job = gl.job()
    credentials.mint_gitlab_key(job)
    job.status = JobStatus.DONE
    job.save()
    with pytest.raises(CredentialError):
        credentials.gitlab_client_for(job)


@pytest.mark.parametrize(
    "world", [{"access_tokens_allowed": False}, {"bot_level": 30}], ids=["plan", "not-maintainer"]
)
def test_refusal_falls_back_to_the_bot_pat_with_a_warning(gitlab_sim, settings, world):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    gl = Gl(gitlab_sim, **world)
    job = gl.job(["read", "comment"])
    assert credentials.mint_gitlab_key(job) is None
    job.refresh_from_db()
    assert job.uses_bot_pat
    assert not job.tokens.exists()
    [warning] = job.events.filter(kind=JobEvent.Kind.WARNING)
    assert "bot's token" in warning.data["message"]
    assert "HTTP 400" in warning.data["message"]
    assert gl.pat not in repr(warning.data)
    client = credentials.gitlab_client_for(job)
    client.projects.get(gl.project.id)
    assert gl.sim.requests[-1].token == gl.pat


def test_a_dead_bot_pat_is_an_error_not_a_fallback(gl, caplog):
    gl.sim.revoke_token(gl.pat)
    job = gl.job()
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialError) as raised:
        credentials.mint_gitlab_key(job)
    job.refresh_from_db()
    assert not job.uses_bot_pat
    message = str(raised.value)
    assert "HTTP 401" in message and gl.pat not in message and "revoked" not in message
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert gl.pat not in caplog.text


def test_unreachable_gitlab_is_an_error(gl):
    gl.set_gitlab_url("http://127.0.0.1:1")
    job = gl.job()
    with pytest.raises(CredentialError, match="no answer"):
        credentials.mint_gitlab_key(job)
    assert not job.tokens.exists()


# -- clone token -------------------------------------------------------------------------------
def test_clone_token_reads_the_repository_only(gl):
    job = gl.job(["read", "push_branch"])
    value = credentials.mint_clone_token(job)
    record = gl.sim.token_record(value)
    assert record.scopes == ["read_repository"] and record.access_level == 20
    [row] = job.tokens.filter(kind=CLONE)
    assert row.gitlab_token_id == record.id and row.revoked_at is None
    assert row.reveal_secret("value") == value
    assert gl.info_refs(value) == 200


def test_clone_done_revokes_and_erases_the_clone_token(gl):
    """T12: a second clone with the token fails."""
    job = gl.job()
    key = credentials.mint_gitlab_key(job)
    value = credentials.mint_clone_token(job)
    credentials.clone_done(job)
    row = job.tokens.get(kind=CLONE)
    assert row.revoked_at is not None
    assert row.value_ciphertext == "" and not row.has_secret("value")
    assert gl.sim.token_record(value).revoked
    assert gl.info_refs(value) == 401
    [delete] = gl.deletes()
    assert delete.path.endswith(f"/access_tokens/{row.gitlab_token_id}") and delete.status == 204
    key.refresh_from_db()
    assert key.revoked_at is None and key.has_secret("value")
    credentials.clone_done(job)
    assert len(gl.deletes()) == 1


def test_clone_token_refusal_raises_without_secrets(gitlab_sim, settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    gl = Gl(gitlab_sim, access_tokens_allowed=False)
    with pytest.raises(CredentialError) as raised:
        credentials.mint_clone_token(gl.job())
    assert gl.pat not in str(raised.value)
    assert "permission" not in str(raised.value)  # the response body stays out


# -- refresh -----------------------------------------------------------------------------------
def test_refresh_replaces_a_key_older_than_fifty_minutes(gl):
    job = gl.job(["read", "comment"])
    old = credentials.mint_gitlab_key(job)
    old_value = value_of(old)
    credentials.refresh_gitlab_key(job)
    assert len(gl.mints()) == 1  # fresh: nothing to do
    age(old, 51)
    credentials.refresh_gitlab_key(job)
    new = job.tokens.filter(kind=KEY).exclude(pk=old.pk).get()
    new_value = value_of(new)
    assert gl.sim.token_record(new_value).scopes == ["api"]
    assert not gl.sim.token_record(new_value).revoked
    assert gl.sim.token_record(old_value).revoked
    old.refresh_from_db()
    assert old.revoked_at is not None and not old.has_secret("value")
    mint_at = gl.sim.requests.index(gl.mints()[-1])
    revoke_at = gl.sim.requests.index(gl.deletes()[0])
    assert mint_at < revoke_at  # the new key exists before the old one goes


def test_the_client_refreshes_an_old_key_before_use(gl):
    job = gl.job()
    old = credentials.mint_gitlab_key(job)
    age(old, 55)
    client = credentials.gitlab_client_for(job)
    new = job.tokens.filter(kind=KEY, revoked_at__isnull=True).get()
    assert new != old
    client.projects.get(gl.project.id)
    assert gl.sim.requests[-1].token == value_of(new)


def test_a_failed_refresh_keeps_the_current_key(gl):
    job = gl.job()
    old = credentials.mint_gitlab_key(job)
    age(old, 52)
    gl.set_gitlab_url("http://127.0.0.1:1")
    job = Job.objects.select_related("tenant").get(pk=job.pk)
    credentials.refresh_gitlab_key(job)
    old.refresh_from_db()
    assert old.revoked_at is None and old.has_secret("value")
    assert job.tokens.count() == 1


# -- revocation --------------------------------------------------------------------------------
def test_revoke_job_tokens_at_job_end(gl):
    """T26: revoked at the simulator after finish; idempotent."""
    job = gl.job(["read", "push_branch"])
    key_value = value_of(credentials.mint_gitlab_key(job))
    clone_value = credentials.mint_clone_token(job)
    job.status = JobStatus.DONE
    job.save()
    credentials.revoke_job_tokens(job)
    assert gl.sim.token_record(key_value).revoked
    assert gl.sim.token_record(clone_value).revoked
    assert len(gl.deletes()) == 2
    for row in job.tokens.all():
        assert row.revoked_at is not None and row.value_ciphertext == ""
    credentials.revoke_job_tokens(job)
    assert len(gl.deletes()) == 2


def test_gitlab_failure_leaves_the_token_to_the_reconciler(gl, caplog):
    job = gl.job()
    key = credentials.mint_gitlab_key(job)
    value = value_of(key)
    job.status = JobStatus.ERRORED
    job.save()
    url = gl.tenant.gitlab_url
    gl.set_gitlab_url("http://127.0.0.1:1")
    job = Job.objects.select_related("tenant").get(pk=job.pk)
    with caplog.at_level(logging.DEBUG):
        credentials.revoke_job_tokens(job)
    key.refresh_from_db()
    assert key.revoked_at is None
    assert key.value_ciphertext == ""  # Mate no longer holds the value
    assert not gl.sim.token_record(value).revoked
    assert "reconciler retries" in caplog.text and value not in caplog.text
    gl.set_gitlab_url(url)
    assert credentials.revoke_due_tokens() == 1
    assert gl.sim.token_record(value).revoked
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_token_gitlab_no_longer_knows_counts_as_revoked(gl):
    job = gl.job()
    key = credentials.mint_gitlab_key(job)
    JobToken.objects.filter(pk=key.pk).update(gitlab_token_id=999_999)
    credentials.revoke_job_tokens(job)
    [delete] = gl.deletes()
    assert delete.status == 404
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_sweep_revokes_what_is_due_and_only_that(gl):
    """T26: the reconciler revokes stragglers (e.g. after a worker crash)."""
    running = gl.job(["read", "comment"])
    old_clone = credentials.mint_clone_token(running)
    age(running.tokens.get(kind=CLONE), 11)
    old_key = credentials.mint_gitlab_key(running)
    old_key_value = value_of(old_key)
    age(old_key, 61)
    fresh_clone = credentials.mint_clone_token(running)
    fresh_key = credentials.mint_gitlab_key(running)  # the old one is past the hour
    crashed = gl.job(status=JobStatus.STARTING)
    crashed_key = value_of(credentials.mint_gitlab_key(crashed))
    crashed_clone = credentials.mint_clone_token(crashed)
    Job.objects.filter(pk=crashed.pk).update(status=JobStatus.ERRORED)

    assert credentials.revoke_due_tokens() == 4
    for value in (old_clone, old_key_value, crashed_key, crashed_clone):
        assert gl.sim.token_record(value).revoked
    assert not gl.sim.token_record(fresh_clone).revoked
    assert not gl.sim.token_record(value_of(fresh_key)).revoked
    assert credentials.revoke_due_tokens() == 0
    assert len(gl.deletes()) == 4
    later = timezone.now() + timedelta(minutes=61)
    assert credentials.revoke_due_tokens(now=later) == 2


def test_the_database_holds_no_plaintext_token(gl):
    job = gl.job(["read", "comment", "push_branch"])
    job_credential = credentials.issue_job_credential(job)
    key_value = value_of(credentials.mint_gitlab_key(job))
    clone_value = credentials.mint_clone_token(job)
    secrets = [job_credential, key_value, clone_value, gl.pat]
    assert plaintext_in_database(secrets) == []
    credentials.clone_done(job)
    credentials.revoke_job_tokens(job)
    assert plaintext_in_database(secrets) == []
