"""Helpers shared by the tenant console pages: page context, one-time secrets, confirmations."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from tenants.access import tenants_of
from tenants.models import Membership, Role, Tenant

# The GitLab webhook trigger boxes Mate consumes (SPEC §5.1), as GitLab labels them.
GITLAB_HOOK_BOXES = (
    ("Issues events", "issues and work items of type issue"),
    ("Merge request events", "opened, assigned, labelled merge requests"),
    ("Comments", "mentions of a bot in issues and merge requests"),
    ("Pipeline events", "failed pipelines"),
)
GITLAB_HOOK_BOXES_OPTIONAL = (
    ("Confidential issues events", "only if agents should act on confidential issues"),
    ("Confidential comments", "only if agents should answer in confidential threads"),
)


def webhook_url(tenant: Tenant) -> str:
    return f"{settings.MATE_PUBLIC_URL.rstrip('/')}/hook/{tenant.uid}"


def tenant_page(
    request: HttpRequest,
    template: str,
    tenant: Tenant,
    membership: Membership,
    section: str,
    context: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a page inside a tenant: the nav, the switcher and the role flags come along."""
    base = {
        "tenant": tenant,
        "membership": membership,
        "section": section,
        "user_tenants": tenants_of(request.user).order_by("name", "id"),
        "is_operator": membership.allows(Role.OPERATOR),
        "is_owner": membership.allows(Role.OWNER),
    }
    return render(request, template, {**base, **(context or {})}, status=status)


def secret_once(
    request: HttpRequest,
    tenant: Tenant,
    membership: Membership,
    *,
    section: str,
    title: str,
    secret: str,
    context: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """The one response that ever shows a secret's value; never cached, never stored elsewhere."""
    response = tenant_page(
        request,
        "tenants/secret_once.html",
        tenant,
        membership,
        section,
        {"title": title, "secret": secret, **(context or {})},
        status=status,
    )
    add_never_cache_headers(response)
    return response


def confirm_page(
    request: HttpRequest,
    tenant: Tenant,
    membership: Membership,
    *,
    section: str,
    title: str,
    text: str,
    button: str,
    cancel_url: str,
    danger: bool = True,
) -> HttpResponse:
    """A GET confirmation for a destructive action; its form POSTs back to the same URL."""
    return tenant_page(
        request,
        "tenants/confirm.html",
        tenant,
        membership,
        section,
        {
            "title": title,
            "text": text,
            "button": button,
            "cancel_url": cancel_url,
            "danger": danger,
        },
    )
