"""Members and roles, on the settings page (owners only; last-owner rules are the service's)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tenants import services
from tenants.access import tenant_for
from tenants.forms import MemberAddForm, RoleForm
from tenants.models import Membership, Role, Tenant
from tenants.views.common import confirm_page
from tenants.views.settings import render_settings


def _members_url(tenant: Tenant) -> str:
    return reverse("console:settings", kwargs={"tenant": tenant.uid}) + "#members"


def _member(tenant: Tenant, member_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.for_tenant(tenant).select_related("user"), pk=member_id
    )


@login_required
@require_POST
def add(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.add_member(tenant=tenant_obj, **form.cleaned_data)
        except services.MembershipError as exc:
            form.add_error("username", str(exc))
        else:
            messages.success(request, f"{added.user.get_username()} added as {added.role}.")
            return redirect(_members_url(tenant_obj))
    return render_settings(request, tenant_obj, membership, forms={"member": form}, status=400)


@login_required
@require_POST
def change_role(request: HttpRequest, tenant: uuid.UUID, member: int) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    target = _member(tenant_obj, member)
    form = RoleForm(request.POST, prefix=f"m{target.pk}")
    if not form.is_valid():
        error = f"Choose a role for {target.user.get_username()}: owner, operator or viewer."
        return render_settings(request, tenant_obj, membership, member_error=error, status=400)
    try:
        changed = services.change_role(membership=target, role=form.cleaned_data["role"])
    except services.MembershipError as exc:
        return render_settings(request, tenant_obj, membership, member_error=str(exc), status=400)
    messages.success(request, f"{target.user.get_username()} is now {changed.role}.")
    if changed.user_id == request.user.pk and not changed.allows(Role.OWNER):
        return redirect("console:settings", tenant=tenant_obj.uid)
    return redirect(_members_url(tenant_obj))


@login_required
@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, tenant: uuid.UUID, member: int) -> HttpResponse:
    """GET asks for confirmation; POST removes the membership."""
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    target = _member(tenant_obj, member)
    name = target.user.get_username()
    if request.method == "POST":
        try:
            services.remove_member(membership=target)
        except services.MembershipError as exc:
            return render_settings(
                request, tenant_obj, membership, member_error=str(exc), status=400
            )
        messages.success(request, f"{name} no longer has access to {tenant_obj.name}.")
        if target.user_id == request.user.pk:
            return redirect("console:home")
        return redirect(_members_url(tenant_obj))
    yourself = target.user_id == request.user.pk
    return confirm_page(
        request,
        tenant_obj,
        membership,
        section="settings",
        title=f"Remove {'yourself' if yourself else name} from {tenant_obj.name}?",
        text=(
            "You lose access to this tenant at once."
            if yourself
            else f"{name} loses access to this tenant at once."
        ),
        button="Remove member",
        cancel_url=_members_url(tenant_obj),
    )
