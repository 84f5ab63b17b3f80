"""Members and roles on the settings page: add, change role, remove; last-owner rules hold."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Membership, Role
from tests.tenants.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def url(name, tenant, membership=None):
    kwargs = {"tenant": tenant.uid}
    if membership is not None:
        kwargs["member"] = membership.pk
    return reverse(f"console:{name}", kwargs=kwargs)


def membership_of(user, tenant):
    return Membership.objects.get(user=user, tenant=tenant)


def test_add_member_by_username(as_user, world):
    UserFactory(username="newbie")
    client = as_user(world.owner)
    response = client.post(
        url("member_add", world.tenant), {"username": "newbie", "role": "operator"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("/settings/#members")
    assert (
        Membership.objects.get(tenant=world.tenant, user__username="newbie").role == Role.OPERATOR
    )
    assert b"newbie added as operator" in client.get(response["Location"]).content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "ghost", "role": "viewer"}, "No Mate account is called"),
        ({"username": "vera", "role": "viewer"}, "already a member"),
        ({"username": "", "role": "viewer"}, "This field is required"),
        ({"username": "ghost", "role": "admin"}, "valid choice"),
    ],
)
def test_add_member_errors(as_user, world, data, message):
    before = Membership.objects.count()
    response = as_user(world.owner).post(url("member_add", world.tenant), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Membership.objects.count() == before


def test_change_role(as_user, world):
    target = membership_of(world.viewer, world.tenant)
    response = as_user(world.owner).post(
        url("member_role", world.tenant, target), {f"m{target.pk}-role": "operator"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == Role.OPERATOR


def test_the_last_owner_cannot_step_down(as_user, world):
    mine = membership_of(world.owner, world.tenant)
    response = as_user(world.owner).post(
        url("member_role", world.tenant, mine), {f"m{mine.pk}-role": "viewer"}
    )
    assert response.status_code == 400
    assert "at least one owner" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_change_role_needs_a_known_role(as_user, world):
    target = membership_of(world.viewer, world.tenant)
    response = as_user(world.owner).post(
        url("member_role", world.tenant, target), {f"m{target.pk}-role": "boss"}
    )
    assert response.status_code == 400
    assert "Choose a role for vera" in response.content.decode()


def test_an_owner_stepping_down_lands_on_the_read_only_settings(as_user, world):
    member(world.tenant, Role.OWNER, username="second-owner")
    mine = membership_of(world.owner, world.tenant)
    client = as_user(world.owner)
    response = client.post(url("member_role", world.tenant, mine), {f"m{mine.pk}-role": "viewer"})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert client.post(url("settings_llm", world.tenant), {}).status_code == 403


def test_remove_member_asks_then_removes(as_user, world):
    target = membership_of(world.operator, world.tenant)
    client = as_user(world.owner)
    confirm = client.get(url("member_remove", world.tenant, target))
    assert b"Remove oscar from Acme?" in confirm.content
    response = client.post(url("member_remove", world.tenant, target))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert client.get(response["Location"]).status_code == 200
    assert as_user(world.operator).get(url("overview", world.tenant)).status_code == 404


def test_the_last_owner_cannot_be_removed(as_user, world):
    mine = membership_of(world.owner, world.tenant)
    response = as_user(world.owner).post(url("member_remove", world.tenant, mine))
    assert response.status_code == 400
    assert "last owner cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_leaving_a_tenant_goes_home(as_user, world):
    member(world.tenant, Role.OWNER, username="second-owner")
    mine = membership_of(world.owner, world.tenant)
    client = as_user(world.owner)
    assert b"Remove yourself" in client.get(url("member_remove", world.tenant, mine)).content
    response = client.post(url("member_remove", world.tenant, mine))
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get(url("overview", world.tenant)).status_code == 404
