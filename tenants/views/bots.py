"""Bots page: list, add by PAT, replace token, remove, choose the default (SPEC §2)."""

from __future__ import annotations

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants import services
from tenants.access import tenant_for
from tenants.forms import TokenForm, attach_error
from tenants.models import Bot, Membership, Role, Tenant
from tenants.views.common import confirm_page, tenant_page


def expiry_flag(bot: Bot, today: date | None = None) -> str:
    """The red flag text for a token that expires within 14 days ('' when none is due)."""
    today = today or timezone.now().date()
    if bot.token_expires_on is None or not bot.expires_soon(today):
        return ""
    days = (bot.token_expires_on - today).days
    # GitLab tokens stop working at 00:00 UTC on their expiry date.
    if days <= 0:
        return "expired"
    return f"expires in {days} day{'s' if days != 1 else ''}"


def _render(
    request: HttpRequest,
    tenant: Tenant,
    membership: Membership,
    *,
    add_form: TokenForm | None = None,
    failed: tuple[Bot, TokenForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.now().date()
    rows = []
    for bot in Bot.objects.for_tenant(tenant).order_by("created_at", "id"):
        form = failed[1] if failed and failed[0].pk == bot.pk else TokenForm(prefix=str(bot.uid))
        rows.append(
            {
                "bot": bot,
                "flag": expiry_flag(bot, today),
                "is_default": bot.pk == tenant.default_bot_id,
                "replace_form": form,
                "replace_open": form.is_bound,
            }
        )
    context = {"rows": rows, "add_form": add_form or TokenForm()}
    return tenant_page(request, "tenants/bots.html", tenant, membership, "bots", context, status)


def _bot(tenant: Tenant, bot_uid: uuid.UUID) -> Bot:
    return get_object_or_404(Bot.objects.for_tenant(tenant), uid=bot_uid)


@login_required
@require_GET
def bots(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    return _render(request, tenant_obj, membership)


@login_required
@require_POST
def add(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OPERATOR)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render(request, tenant_obj, membership, add_form=form, status=400)
    try:
        bot = services.register_bot(tenant=tenant_obj, token=form.cleaned_data["token"])
    except services.BotRegistrationError as exc:
        attach_error(form, "token", str(exc))
        return _render(request, tenant_obj, membership, add_form=form, status=400)
    messages.success(request, f"Bot @{bot.username} registered.")
    return redirect("console:bots", tenant=tenant_obj.uid)


@login_required
@require_POST
def replace(request: HttpRequest, tenant: uuid.UUID, bot: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OPERATOR)
    bot_obj = _bot(tenant_obj, bot)
    form = TokenForm(request.POST, prefix=str(bot_obj.uid))
    if form.is_valid():
        try:
            services.replace_bot_token(bot=bot_obj, token=form.cleaned_data["token"])
        except services.BotRegistrationError as exc:
            attach_error(form, "token", str(exc))
        else:
            messages.success(request, f"Token of @{bot_obj.username} replaced.")
            return redirect("console:bots", tenant=tenant_obj.uid)
    return _render(request, tenant_obj, membership, failed=(bot_obj, form), status=400)


@login_required
@require_POST
def make_default(request: HttpRequest, tenant: uuid.UUID, bot: uuid.UUID) -> HttpResponse:
    tenant_obj, _membership = tenant_for(request.user, tenant, Role.OPERATOR)
    bot_obj = _bot(tenant_obj, bot)
    services.set_default_bot(tenant=tenant_obj, bot=bot_obj)
    messages.success(request, f"@{bot_obj.username} is now the default bot.")
    return redirect("console:bots", tenant=tenant_obj.uid)


@login_required
@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, tenant: uuid.UUID, bot: uuid.UUID) -> HttpResponse:
    """GET asks for confirmation; POST removes the bot and erases its token."""
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OPERATOR)
    bot_obj = _bot(tenant_obj, bot)
    if request.method == "POST":
        services.remove_bot(bot=bot_obj)
        messages.success(request, f"Bot @{bot_obj.username} removed; its token is erased.")
        return redirect("console:bots", tenant=tenant_obj.uid)
    return confirm_page(
        request,
        tenant_obj,
        membership,
        section="bots",
        title=f"Remove bot @{bot_obj.username}?",
        text="Mate forgets this bot and erases its token. Triggers that act as this bot stop "
        "matching until you add it again. The token itself stays valid at GitLab; revoke it "
        "there if you no longer need it.",
        button="Remove bot",
        cancel_url=reverse("console:bots", kwargs={"tenant": tenant_obj.uid}),
    )
