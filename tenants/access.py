"""Tenant scoping for interfaces (DESIGN §4, SPEC §1).

Every console view resolves its tenant through ``tenant_for``: a tenant the user is not a member
of answers 404 (never 403, so ids of other tenants reveal nothing); a member whose role is too low
gets 403.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from tenants.models import Membership, Role, Tenant


def tenants_of(user) -> QuerySet[Tenant]:
    if not user.is_authenticated:
        return Tenant.objects.none()
    return Tenant.objects.filter(memberships__user=user)


def membership_for(user, tenant_uid: str | uuid.UUID) -> Membership:
    """The user's membership in the tenant with public id ``tenant_uid``, or 404."""
    try:
        uid = uuid.UUID(str(tenant_uid))
    except ValueError:
        raise Http404("No such tenant") from None
    if not user.is_authenticated:
        raise Http404("No such tenant")
    membership = (
        Membership.objects.select_related("tenant").filter(user=user, tenant__uid=uid).first()
    )
    if membership is None:
        raise Http404("No such tenant")
    return membership


def tenant_for(
    user, tenant_uid: str | uuid.UUID, role: str = Role.VIEWER
) -> tuple[Tenant, Membership]:
    """Tenant and membership when the user holds at least ``role``; 404 or 403 otherwise."""
    membership = membership_for(user, tenant_uid)
    if not membership.allows(role):
        raise PermissionDenied(f"This needs the {role} role in {membership.tenant.name}.")
    return membership.tenant, membership
