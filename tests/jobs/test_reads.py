"""jobs.routing.reads: each question once per delivery; memberships cached briefly, failures
never (THREATS T44)."""

from __future__ import annotations

import pytest

from jobs.routing.gitlab_reads import GitLabReadError
from jobs.routing.reads import DeliveryReads
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


class CountingReader:
    calls: list = []
    fail = False

    def __init__(self, tenant, bot):
        self.bot = bot

    def member(self, project_id, user_id):
        CountingReader.calls.append(("member", project_id, user_id))
        if CountingReader.fail:
            raise GitLabReadError("GitLab answered 502 while reading the membership of user 9")
        return {"id": user_id, "access_level": 30}

    def note(self, project_id, kind, iid, note_id):
        CountingReader.calls.append(("note", note_id))
        return None


class FakeBot:
    pk = 1


@pytest.fixture
def reader(monkeypatch):
    CountingReader.calls, CountingReader.fail = [], False
    monkeypatch.setattr("jobs.routing.reads.BotReader", CountingReader)
    return CountingReader


def test_a_membership_is_asked_once_and_kept_briefly_across_deliveries(reader):
    tenant = TenantFactory()
    first = DeliveryReads(tenant)
    assert first.member(FakeBot(), 14, 9)["access_level"] == 30
    assert first.member(FakeBot(), 14, 9)["access_level"] == 30
    assert DeliveryReads(tenant).member(FakeBot(), 14, 9)["access_level"] == 30
    assert reader.calls == [("member", 14, 9)]
    DeliveryReads(TenantFactory()).member(FakeBot(), 14, 9)  # another tenant asks itself
    assert len(reader.calls) == 2


def test_a_failure_is_asked_once_per_delivery_and_never_cached(reader):
    tenant = TenantFactory()
    reader.fail = True
    reads = DeliveryReads(tenant)
    for _ in range(3):
        with pytest.raises(GitLabReadError):
            reads.member(FakeBot(), 14, 9)
    assert len(reader.calls) == 1
    reader.fail = False
    assert DeliveryReads(tenant).member(FakeBot(), 14, 9)["access_level"] == 30
    assert len(reader.calls) == 2


def test_a_missing_note_is_an_answer_kept_for_the_delivery(reader):
    reads = DeliveryReads(TenantFactory())
    assert reads.note(FakeBot(), 14, "issue", 23, 5) is None
    assert reads.note(FakeBot(), 14, "issue", 23, 5) is None
    assert reader.calls == [("note", 5)]
