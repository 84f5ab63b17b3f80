import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tenants.access import tenant_for, tenants_of
from tenants.models import Role
from tests.tenants.factories import TenantFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def test_member_gets_tenant_other_tenant_is_404_never_403():
    mine, theirs = TenantFactory(), TenantFactory()
    user = member(mine, Role.VIEWER)
    assert tenant_for(user, mine.uid)[0] == mine
    with pytest.raises(Http404):
        tenant_for(user, theirs.uid, Role.OWNER)  # 404 even though the role would also fail
    with pytest.raises(Http404):
        tenant_for(user, uuid.uuid4())
    with pytest.raises(Http404):
        tenant_for(user, "not-a-uuid")


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.VIEWER, Role.OPERATOR, False),
        (Role.OPERATOR, Role.OPERATOR, True),
        (Role.OPERATOR, Role.OWNER, False),
        (Role.OWNER, Role.OPERATOR, True),
    ],
)
def test_roles_are_ordered(role, needed, allowed):
    tenant = TenantFactory()
    user = member(tenant, role)
    if allowed:
        assert tenant_for(user, tenant.uid, needed)[1].role == role
    else:
        with pytest.raises(PermissionDenied):
            tenant_for(user, tenant.uid, needed)


def test_tenants_of_lists_only_memberships():
    a, b, _c = TenantFactory(), TenantFactory(), TenantFactory()
    user = member(a, Role.VIEWER)
    member(b, Role.OWNER, user=user)
    assert set(tenants_of(user)) == {a, b}
    assert list(tenants_of(UserFactory())) == []
