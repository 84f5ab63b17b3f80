"""Settings page: general settings, the LLM credential and the webhook secrets."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants import services
from tenants.access import tenant_for
from tenants.forms import (
    GeneralSettingsForm,
    GitLabURLForm,
    LLMCredentialForm,
    MemberAddForm,
    RoleForm,
    attach_error,
)
from tenants.models import Membership, Role, Tenant
from tenants.views.common import confirm_page, secret_once, tenant_page, webhook_url


def render_settings(
    request: HttpRequest,
    tenant: Tenant,
    membership: Membership,
    *,
    forms: dict | None = None,
    member_error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The settings page; ``forms`` overrides a section's form (a bound one with errors)."""
    forms = forms or {}
    general = forms.get("general") or GeneralSettingsForm(
        initial={
            "name": tenant.name,
            "mate_filename": tenant.mate_filename,
        }
    )
    llm = forms.get("llm") or LLMCredentialForm(initial={"llm_provider": tenant.llm_provider})
    members = (
        Membership.objects.for_tenant(tenant).select_related("user").order_by("user__username")
    )
    context = {
        "general_form": general,
        "llm_form": llm,
        "member_form": forms.get("member") or MemberAddForm(),
        "member_rows": [
            {"membership": m, "form": RoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")}
            for m in members
        ],
        "member_error": member_error,
        "webhook_url": webhook_url(tenant),
        "llm_key_set": tenant.has_secret("llm_key"),
        "webhook_secret_set": tenant.has_secret("webhook_secret"),
        "signing_secret_set": tenant.has_secret("webhook_signing_secret"),
    }
    return tenant_page(
        request, "tenants/settings.html", tenant, membership, "settings", context, status
    )


def _back(tenant: Tenant, anchor: str = "") -> HttpResponse:
    url = reverse("console:settings", kwargs={"tenant": tenant.uid})
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
@require_GET
def settings_page(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    return render_settings(request, tenant_obj, membership)


@login_required
@require_POST
def general(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OPERATOR)
    form = GeneralSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.update_settings(tenant=tenant_obj, **form.cleaned_data)
        except services.SettingsError as exc:
            attach_error(form, exc.field, str(exc))
        else:
            messages.success(request, "Settings saved.")
            return _back(tenant_obj, "general")
    # update_settings may have changed the instance before refusing a later field.
    tenant_obj.refresh_from_db()
    return render_settings(request, tenant_obj, membership, forms={"general": form}, status=400)


@login_required
@require_POST
def llm_credential(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    form = LLMCredentialForm(request.POST)
    if form.is_valid():
        try:
            services.set_llm_credential(
                tenant=tenant_obj,
                provider=form.cleaned_data["llm_provider"],
                key=form.cleaned_data["llm_key"],
            )
        except services.SettingsError as exc:
            attach_error(form, exc.field, str(exc))
        else:
            messages.success(request, "LLM credential saved. The key is stored encrypted.")
            return _back(tenant_obj, "llm")
    tenant_obj.refresh_from_db()
    return render_settings(request, tenant_obj, membership, forms={"llm": form}, status=400)


def _gitlab_url_page(
    request: HttpRequest, tenant: Tenant, membership: Membership, form: GitLabURLForm, **extra
) -> HttpResponse:
    context = {
        "form": form,
        "impact": services.url_change_impact(tenant),
        "cancel_url": reverse("console:settings", kwargs={"tenant": tenant.uid}) + "#general",
        **extra,
    }
    status = 400 if form.errors else 200
    return tenant_page(
        request, "tenants/gitlab_url.html", tenant, membership, "settings", context, status
    )


def _url_changed_message(change: services.URLChange) -> str:
    text = f"GitLab URL changed to {change.new_url}. "
    if change.bots_erased:
        text += (
            f"The tokens of {', '.join('@' + b for b in change.bots_erased)} were erased: "
            "register each bot again with a token from the new GitLab (Bots, Replace token). "
        )
    if change.tokens_revoked:
        text += f"{change.tokens_revoked} job token(s) were revoked at {change.old_url}. "
    if change.tokens_pending:
        text += (
            f"{change.tokens_pending} job token(s) could not be revoked at {change.old_url}; "
            "revoke them there (project access tokens named mate-job-…) or let them expire "
            "within two days."
        )
    return text.strip()


@login_required
@require_http_methods(["GET", "POST"])
def gitlab_url(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    """Owner only (SPEC §1): GET asks for the new URL; a POST checks it and shows what the
    change does; only a POST carrying ``confirm`` changes it."""
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    if request.method == "GET":
        return _gitlab_url_page(request, tenant_obj, membership, GitLabURLForm())
    form = GitLabURLForm(request.POST)
    if not form.is_valid():
        return _gitlab_url_page(request, tenant_obj, membership, form)
    try:
        new_url = services.gitlab_url_for_saving(form.cleaned_data["gitlab_url"])
        if not form.cleaned_data["confirm"]:
            confirm = GitLabURLForm(initial={"gitlab_url": new_url, "confirm": True})
            return _gitlab_url_page(
                request, tenant_obj, membership, confirm, new_url=new_url, confirming=True
            )
        change = services.change_gitlab_url(tenant=tenant_obj, gitlab_url=new_url)
    except services.SettingsError as exc:
        attach_error(form, exc.field, str(exc))
        return _gitlab_url_page(request, tenant_obj, membership, form)
    if change is None:
        messages.info(request, "That is already the GitLab URL; nothing changed.")
    else:
        messages.warning(request, _url_changed_message(change))
    return _back(tenant_obj, "general")


def _webhook_context(tenant: Tenant) -> dict:
    return {
        "webhook_url": webhook_url(tenant),
        "back_url": reverse("console:settings", kwargs={"tenant": tenant.uid}) + "#webhook",
    }


@login_required
@require_http_methods(["GET", "POST"])
def rotate_webhook_secret(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    """GET asks for confirmation; POST rotates and shows the new secret in this response only."""
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    if request.method == "POST":
        secret = services.rotate_webhook_secret(tenant=tenant_obj)
        return secret_once(
            request,
            tenant_obj,
            membership,
            section="settings",
            title="New webhook secret",
            secret=secret,
            context={"secret_label": "Webhook secret", **_webhook_context(tenant_obj)},
        )
    return confirm_page(
        request,
        tenant_obj,
        membership,
        section="settings",
        title="Rotate the webhook secret?",
        text="The current secret stops working at once: GitLab deliveries are refused (401) "
        "until you paste the new secret into every project's webhook (Secret token).",
        button="Rotate webhook secret",
        cancel_url=_webhook_context(tenant_obj)["back_url"],
    )


@login_required
@require_http_methods(["GET", "POST"])
def rotate_signing_secret(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    if request.method == "POST":
        secret = services.rotate_signing_secret(tenant=tenant_obj)
        return secret_once(
            request,
            tenant_obj,
            membership,
            section="settings",
            title="New webhook signing secret",
            secret=secret,
            context={
                "secret_label": "Signing secret",
                "signing": True,
                **_webhook_context(tenant_obj),
            },
        )
    return confirm_page(
        request,
        tenant_obj,
        membership,
        section="settings",
        title="Generate a new signing secret?",
        text="From now on every delivery must carry a valid webhook-signature header made with "
        "the new secret (GitLab's Standard Webhooks signing). Deliveries signed with an older "
        "secret, or not signed, are refused until you update GitLab.",
        button="Generate signing secret",
        cancel_url=_webhook_context(tenant_obj)["back_url"],
        danger=False,
    )


@login_required
@require_http_methods(["GET", "POST"])
def clear_signing_secret(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OWNER)
    if request.method == "POST":
        services.clear_signing_secret(tenant=tenant_obj)
        messages.success(request, "Signing secret cleared; deliveries are checked by token only.")
        return _back(tenant_obj, "webhook")
    return confirm_page(
        request,
        tenant_obj,
        membership,
        section="settings",
        title="Clear the signing secret?",
        text="Deliveries will be authenticated by the webhook secret token alone.",
        button="Clear signing secret",
        cancel_url=_webhook_context(tenant_obj)["back_url"],
    )
