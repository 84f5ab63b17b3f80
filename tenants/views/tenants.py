"""Tenant list (the console home), tenant creation and the tenant overview."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from tenants import services
from tenants.access import tenant_for
from tenants.forms import TenantCreateForm, attach_error
from tenants.models import Bot, Membership, Tenant
from tenants.views.common import (
    GITLAB_HOOK_BOXES,
    GITLAB_HOOK_BOXES_OPTIONAL,
    secret_once,
    tenant_page,
    webhook_url,
)


def _home(request: HttpRequest, form: TenantCreateForm, status: int = 200) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("tenant")
        .annotate(bot_count=Count("tenant__bots", distinct=True))
        .order_by(F("tenant__name").asc(), "tenant_id")
    )
    return render(
        request,
        "tenants/home.html",
        {"memberships": memberships, "form": form, "section": "tenants"},
        status=status,
    )


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request, TenantCreateForm())


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    """POST creates a tenant and answers with its webhook secret, once. GET shows no secret."""
    if request.method != "POST":
        return redirect("console:home")
    form = TenantCreateForm(request.POST)
    if not form.is_valid():
        return _home(request, form, status=400)
    try:
        tenant, secret = services.create_tenant(user=request.user, **form.cleaned_data)
    except services.SettingsError as exc:
        attach_error(form, exc.field, str(exc))
        return _home(request, form, status=400)
    tenant, membership = tenant_for(request.user, tenant.uid)
    return secret_once(
        request,
        tenant,
        membership,
        section="overview",
        title=f"Tenant {tenant.name} created",
        secret=secret,
        context={
            "secret_label": "Webhook secret",
            "created": True,
            "webhook_url": webhook_url(tenant),
            "hook_boxes": GITLAB_HOOK_BOXES,
            "hook_boxes_optional": GITLAB_HOOK_BOXES_OPTIONAL,
        },
        status=201,
    )


def _default_bot(tenant: Tenant) -> Bot | None:
    if tenant.default_bot_id is None:
        return None
    return Bot.objects.for_tenant(tenant).filter(pk=tenant.default_bot_id).first()


@login_required
@require_GET
def overview(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    context = {
        "bot_count": Bot.objects.for_tenant(tenant_obj).count(),
        "default_bot": _default_bot(tenant_obj),
        "current_config": tenant_obj.current_config(),
        "llm_key_set": tenant_obj.has_secret("llm_key"),
        "webhook_secret_set": tenant_obj.has_secret("webhook_secret"),
        "signing_secret_set": tenant_obj.has_secret("webhook_signing_secret"),
        "webhook_url": webhook_url(tenant_obj),
        "hook_boxes": GITLAB_HOOK_BOXES,
        "hook_boxes_optional": GITLAB_HOOK_BOXES_OPTIONAL,
    }
    return tenant_page(
        request, "tenants/overview.html", tenant_obj, membership, "overview", context
    )
