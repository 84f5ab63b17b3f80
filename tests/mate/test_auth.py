import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return get_user_model().objects.create_user("alice", password="correct horse battery")


def test_console_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_in_rotates_the_session_and_shows_the_console(client, operator):
    client.get("/login/")
    before = client.cookies.get("sessionid")
    response = client.post(
        "/login/", {"username": "alice", "password": "correct horse battery"}, follow=True
    )
    assert response.status_code == 200
    assert b"signed in as alice" in response.content
    after = client.cookies["sessionid"].value
    assert before is None or before.value != after
    assert client.cookies["sessionid"]["httponly"]


def test_wrong_password_and_unknown_user_get_the_same_answer(client, operator):
    wrong = client.post("/login/", {"username": "alice", "password": "nope"})
    unknown = client.post("/login/", {"username": "mallory", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert b"do not match an account" in wrong.content
    assert b"do not match an account" in unknown.content


def test_sign_out_is_a_post_and_ends_the_session(client, operator):
    client.force_login(operator)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_in_without_csrf_token_is_refused(operator):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 403


def test_admin_is_mounted(admin_client):
    assert admin_client.get("/admin/").status_code == 200
