"""Members and roles of a tenant (owners only; the last owner cannot leave)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from tenants.models import Membership, Role, Tenant


class MembershipError(ValueError):
    pass


def _other_owners(tenant: Tenant, membership: Membership) -> bool:
    return (
        Membership.objects.for_tenant(tenant)
        .filter(role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def add_member(*, tenant: Tenant, username: str, role: str) -> Membership:
    if role not in Role.values:
        raise MembershipError(f"Role must be one of {', '.join(Role.values)}.")
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise MembershipError(
            f"No Mate account is called {username.strip()!r}; ask support staff to create it first."
        )
    membership, created = Membership.objects.get_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    if not created:
        raise MembershipError(f"{user.username} is already a member; change their role instead.")
    return membership


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise MembershipError(f"Role must be one of {', '.join(Role.values)}.")
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if (
        locked.role == Role.OWNER
        and role != Role.OWNER
        and not _other_owners(locked.tenant, locked)
    ):
        raise MembershipError("A tenant needs at least one owner; make someone else owner first.")
    locked.role = role
    locked.save(update_fields=["role"])
    return locked


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and not _other_owners(locked.tenant, locked):
        raise MembershipError("The last owner cannot be removed; make someone else owner first.")
    locked.delete()
