"""T23: session hijack or fixation.

A new session id on sign-in (a planted id is worthless), HttpOnly + SameSite=Lax cookies (Secure
in production), an idle timeout, refused sessions for disabled users or changed passwords, and a
sign-out that deletes the session server-side. (tests/mate/test_auth.py covers the basics.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tenants.models import Role
from tests.tenants.factories import TenantFactory, member

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice():
    user = get_user_model().objects.create_user("alice", password=PASSWORD)
    member(TenantFactory(name="Acme"), Role.OWNER, user=user)
    return user


def sign_in(client: Client) -> None:
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


def signed_in(client: Client) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert response["Location"].startswith("/login/")
        return False
    assert response.status_code == 200
    return True


def store():
    return import_module(django_settings.SESSION_ENGINE).SessionStore


def test_a_planted_session_id_is_replaced_and_destroyed_at_sign_in(alice):
    planted = store()()
    planted["note"] = "set by an attacker"
    planted.save()
    victim = Client()
    victim.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    sign_in(victim)
    issued = victim.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert issued != planted.session_key
    assert not store()().exists(planted.session_key)
    attacker = Client()
    attacker.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    assert not signed_in(attacker)
    assert signed_in(victim)


def test_session_and_csrf_cookies_are_httponly_and_samesite_lax(alice):
    client = Client()
    client.get("/login/")
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    session = client.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert int(session["max-age"]) == django_settings.SESSION_COOKIE_AGE
    csrf = client.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["samesite"] == "Lax"


def test_cookies_are_secure_when_configured(alice, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get("/login/")
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert client.cookies[django_settings.SESSION_COOKIE_NAME]["secure"]
    assert client.cookies[django_settings.CSRF_COOKIE_NAME]["secure"]


def test_production_settings_make_cookies_secure_and_sessions_idle_out(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MATE_"))}
    env.update(
        MATE_ENV="production",
        MATE_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="mate.settings",
        DJANGO_SECRET_KEY="s" * 50,
        DJANGO_ALLOWED_HOSTS="mate.example",
        MATE_ENCRYPTION_KEYS="k1:" + "A" * 43 + "=",
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.SESSION_SAVE_EVERY_REQUEST, s.SESSION_COOKIE_AGE)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "Lax", "True", str(8 * 3600)]


def test_a_disabled_users_open_session_is_refused(alice):
    client = Client()
    sign_in(client)
    assert signed_in(client)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert not signed_in(client)
    tenant = alice.membership_set.get().tenant
    assert client.get(f"/t/{tenant.uid}/").status_code == 302


def test_a_password_change_ends_other_sessions(alice):
    client = Client()
    sign_in(client)
    alice.set_password("a new and different passphrase")
    alice.save()
    assert not signed_in(client)


def test_an_idle_session_expires(alice):
    client = Client()
    sign_in(client)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    # Activity pushes the expiry forward (SESSION_SAVE_EVERY_REQUEST) ...
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    assert signed_in(client)
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > timezone.now() + timedelta(seconds=django_settings.SESSION_COOKIE_AGE - 60)
    # ... and a session idle past its age is gone.
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert not signed_in(client)


def test_sign_out_deletes_the_session_so_a_copied_cookie_is_useless(alice):
    client = Client()
    sign_in(client)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert client.post("/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    thief = Client()
    thief.cookies[django_settings.SESSION_COOKIE_NAME] = key
    assert not signed_in(thief)
    assert not signed_in(client)


def test_sign_out_by_get_or_without_csrf_token_is_refused(alice):
    strict = Client(enforce_csrf_checks=True)
    strict.get("/login/")
    token = strict.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = strict.post(
        "/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert strict.get("/logout/").status_code == 405
    assert strict.post("/logout/").status_code == 403  # a forged cross-site sign-out
    assert signed_in(strict)
