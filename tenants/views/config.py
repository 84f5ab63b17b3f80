"""Config page: the YAML editor, live validation, version history with diffs (SPEC §8)."""

from __future__ import annotations

import difflib
import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants import services
from tenants.access import tenant_for
from tenants.forms import ConfigForm
from tenants.models import ConfigVersion, Membership, Role, Tenant
from tenants.services.configs import STARTER_TEMPLATE, validate
from tenants.views.common import tenant_page

# The configuration language refuses documents over 256 KiB; the slack covers the JSON wrapping.
MAX_VALIDATE_BODY = 256 * 1024 + 8 * 1024
HISTORY_PAGE_SIZE = 50


def _versions(tenant: Tenant):
    return ConfigVersion.objects.for_tenant(tenant).select_related("author")


def _editor(
    request: HttpRequest,
    tenant: Tenant,
    membership: Membership,
    *,
    text: str,
    problems: list | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    current = tenant.current_config()
    context = {
        "text": text,
        "error": error,
        "current": current,
        "is_starter": current is None and problems is None,
        "problems": [p.to_dict() for p in problems] if problems is not None else None,
    }
    return tenant_page(
        request, "tenants/config.html", tenant, membership, "config", context, status
    )


def _start_text(request: HttpRequest, tenant: Tenant) -> str:
    """The current config, a version picked from history (?from=N), or the starter template."""
    source = request.GET.get("from", "")
    if source.isdigit():
        return get_object_or_404(_versions(tenant), version=int(source)).text
    current = tenant.current_config()
    return current.text if current else STARTER_TEMPLATE


@login_required
@require_http_methods(["GET", "POST"])
def editor(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    if request.method != "POST":
        tenant_obj, membership = tenant_for(request.user, tenant)
        return _editor(request, tenant_obj, membership, text=_start_text(request, tenant_obj))
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OPERATOR)
    form = ConfigForm(request.POST)
    if not form.is_valid() or "text" not in request.POST:
        error = "; ".join(form.errors.get("text", [])) or "The form sent no text field."
        return _editor(
            request,
            tenant_obj,
            membership,
            text=request.POST.get("text", ""),
            error=f"Nothing was saved: {error}",
            status=400,
        )
    text = form.cleaned_data["text"]
    try:
        version = services.save_config(tenant=tenant_obj, text=text, author=request.user)
    except services.ConfigInvalid as exc:
        return _editor(
            request, tenant_obj, membership, text=text, problems=exc.problems, status=400
        )
    messages.success(request, f"Saved configuration version {version.version}.")
    return redirect("console:config", tenant=tenant_obj.uid)


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _text_from_body(request: HttpRequest) -> str | JsonResponse:
    """The "text" of a JSON body, or the error response explaining what is wrong with it."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    too_big = _json_error(
        "The request is larger than 256 KiB; a configuration may be at most 256 KiB.", 413
    )
    if not declared.isdigit() or int(declared) > MAX_VALIDATE_BODY:
        return too_big
    body = request.body
    if len(body) > MAX_VALIDATE_BODY:
        return too_big
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _json_error('The body must be JSON like {"text": "<the YAML document>"}.')
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return _json_error(
            'The JSON body needs a "text" field holding the YAML document as a string.'
        )
    return payload["text"]


@login_required
@require_POST
def validate_text(request: HttpRequest, tenant: uuid.UUID) -> JsonResponse:
    """Validate without saving (the live editor). Viewers may validate too."""
    tenant_for(request.user, tenant)
    text = _text_from_body(request)
    if isinstance(text, JsonResponse):
        return text
    result = validate(text)
    return JsonResponse({"ok": result.ok, "problems": [p.to_dict() for p in result.problems]})


@login_required
@require_GET
def history(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    page = Paginator(_versions(tenant_obj).order_by("-version"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return tenant_page(
        request, "tenants/config_history.html", tenant_obj, membership, "config", {"page": page}
    )


def diff_lines(old: str, new: str, old_name: str, new_name: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs; the template escapes the text."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm=""
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append((kind, line))
    return out


@login_required
@require_GET
def version(request: HttpRequest, tenant: uuid.UUID, version: int) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    this = get_object_or_404(_versions(tenant_obj), version=version)
    previous = _versions(tenant_obj).filter(version__lt=version).order_by("-version").first()
    diff = diff_lines(
        previous.text if previous else "",
        this.text,
        f"version {previous.version}" if previous else "(nothing)",
        f"version {this.version}",
    )
    context = {"version": this, "previous": previous, "diff": diff}
    return tenant_page(
        request, "tenants/config_version.html", tenant_obj, membership, "config", context
    )
