"""T22: brute force on console sign-ins.

Failures are limited per address and per username *before* any password is hashed; unknown
users, wrong passwords and disabled accounts get the same answer after the same work.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher
from django.test import Client

from mate import ratelimit

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _fast_hashing(request, settings):
    """A cheap hasher keeps the many failures of these tests fast; tests that ask for
    ``real_hasher`` keep the production hasher (PBKDF2)."""
    if "real_hasher" not in request.fixturenames:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def real_hasher(settings):
    assert settings.PASSWORD_HASHERS[0].endswith("PBKDF2PasswordHasher")


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def work(monkeypatch):
    """Counts calls to ``authenticate`` (as the sign-in form calls it) and to the hasher."""
    import django.contrib.auth.forms as auth_forms

    counts = {"authenticate": 0, "hash": 0}
    real_authenticate = auth_forms.authenticate

    def authenticate(*args, **kwargs):
        counts["authenticate"] += 1
        return real_authenticate(*args, **kwargs)

    def counting(real_encode):
        def encode(self, *args, **kwargs):
            counts["hash"] += 1
            return real_encode(self, *args, **kwargs)

        return encode

    monkeypatch.setattr(auth_forms, "authenticate", authenticate)
    for hasher in (PBKDF2PasswordHasher, MD5PasswordHasher):
        monkeypatch.setattr(hasher, "encode", counting(hasher.encode))

    def taken() -> dict[str, int]:
        done = dict(counts)
        counts.update(authenticate=0, hash=0)
        return done

    return taken


def attempt(username: str, password: str = "wrong", address: str = "10.0.0.1", client=None):
    client = client or Client()
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_times(n: int, username: str = "alice", address: str = "10.0.0.1") -> None:
    for _ in range(n):
        assert attempt(username, address=address).status_code == 200


def test_the_eleventh_failure_from_one_address_is_429_without_hashing(alice, work):
    for i in range(10):  # different usernames: only the address counter can trip
        assert attempt(f"guess{i}").status_code == 200
    assert work() == {"authenticate": 10, "hash": 10}

    client = Client()
    refused = attempt("alice", PASSWORD, client=client)  # even the right password is unchecked
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert b"Too many failed sign-in attempts" in refused.content
    assert work() == {"authenticate": 0, "hash": 0}
    assert "sessionid" not in client.cookies  # and nobody was signed in

    assert attempt("alice", PASSWORD, address="10.0.0.2").status_code == 302  # others go on


def test_distributed_guessing_against_one_username_is_capped(alice, work):
    for i in range(10):
        assert attempt("alice", address=f"10.1.0.{i}").status_code == 200
    work()
    refused = attempt("alice", PASSWORD, address="10.2.0.1")
    assert refused.status_code == 429
    assert work() == {"authenticate": 0, "hash": 0}
    # Case and Unicode width variants are the same username for the counter.
    assert attempt("ALICE", address="10.2.0.2").status_code == 429
    assert attempt("\uff41lice", address="10.2.0.3").status_code == 429
    # The same fresh address may still sign in as someone else.
    assert attempt("bob", address="10.2.0.1").status_code == 200
    assert work()["authenticate"] == 1


def test_unknown_usernames_are_limited_the_same_way(work):
    fail_times(10, username="nobody")
    unknown = attempt("nobody", address="10.9.9.9")
    assert unknown.status_code == 429
    assert work()["authenticate"] == 10


def test_refusals_look_the_same_whichever_counter_tripped(alice):
    fail_times(10, username="alice", address="10.0.0.1")  # trips both counters for these
    fail_times(10, username="someone", address="10.0.0.7")
    by_user = attempt("alice", address="10.3.0.1")
    by_address = attempt("nobody-else", address="10.0.0.7")
    assert by_user.status_code == by_address.status_code == 429
    assert by_user.content == by_address.content
    assert by_user["Retry-After"] == by_address["Retry-After"]


def test_a_success_is_not_a_failure_and_resets_no_counter(alice, work):
    fail_times(9, username="mallory", address="10.0.0.1")
    for i in range(10):  # another address reaches the limit with many usernames
        attempt(f"spray{i}", address="10.0.0.66")
    assert attempt("alice", PASSWORD, address="10.0.0.1").status_code == 302
    assert attempt("alice", PASSWORD, address="10.0.0.1").status_code == 302  # not counted
    # The other address stays limited; this address still has exactly one failure left.
    assert attempt("alice", PASSWORD, address="10.0.0.66").status_code == 429
    assert attempt("mallory", address="10.0.0.1").status_code == 200
    assert attempt("mallory", address="10.0.0.1").status_code == 429


def test_the_limit_is_a_setting_and_the_window_is_a_minute(alice, settings, monkeypatch):
    settings.MATE_LOGIN_FAILURES_PER_MINUTE = 3
    fail_times(3)
    assert attempt("alice", PASSWORD).status_code == 429
    now = ratelimit.time.time()
    monkeypatch.setattr(ratelimit.time, "time", lambda: now + 61)
    assert attempt("alice", PASSWORD).status_code == 302


def _page(response, username: str) -> str:
    """The page text with what legitimately differs removed: the echoed username and the
    per-response CSRF token."""
    text = response.content.decode()
    text = text.replace(f'value="{username}"', 'value="USER"')
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)


def test_unknown_user_wrong_password_and_disabled_account_are_indistinguishable(
    real_hasher, alice, work
):
    disabled = get_user_model().objects.create_user("dora", password=PASSWORD, is_active=False)
    work()
    answers = {}
    for name, username, password, address in [
        ("wrong password", "alice", "not it", "10.5.0.1"),
        ("unknown user", "zed", "not it", "10.5.0.2"),
        ("disabled account", disabled.username, PASSWORD, "10.5.0.3"),
    ]:
        response = attempt(username, password, address=address)
        answers[name] = (response.status_code, _page(response, username), work())
    statuses = {status for status, _, _ in answers.values()}
    pages = {page for _, page, _ in answers.values()}
    assert statuses == {200}
    assert len(pages) == 1, "the sign-in page differs between these cases"
    assert "do not match an account" in pages.pop()
    # The same work: one authenticate and exactly one password hash each (Django's model
    # backend hashes the password of an unknown user too, so timing reveals nothing).
    assert {name: w for name, (_, _, w) in answers.items()} == dict.fromkeys(
        answers, {"authenticate": 1, "hash": 1}
    )


def test_an_empty_or_malformed_form_counts_as_a_failure_without_authenticating(work):
    for _ in range(10):
        assert Client().post(LOGIN, {}, REMOTE_ADDR="10.6.0.1").status_code == 200
    assert work() == {"authenticate": 0, "hash": 0}
    assert attempt("x", address="10.6.0.1").status_code == 429


def test_get_is_never_limited(alice):
    fail_times(10)
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert client.get(LOGIN).status_code == 200
