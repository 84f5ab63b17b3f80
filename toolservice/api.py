"""REST transport of the tool service (SPEC §7.1), Django REST Framework.

- ``GET /tools/``: the tools this job may use (nothing else is listed).
- ``POST /tools/<name>``: call one with a JSON object body → ``{"result": ...}``; failures are
  ``{"error": {"category", "message"}}`` with a status per category. A tool outside the job's
  set answers byte for byte like a tool that does not exist.
- ``POST /tools/_clone-done`` and ``POST /tools/_usage`` serve the agent runtime (SPEC §6.5).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from jsonschema import Draft202012Validator
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import credentials, timeline
from jobs.models import Job
from mate.jsonsafe import loads_strict
from mate.ratelimit import Limit
from toolservice import calls, errors
from toolservice.auth import JobCredentialAuthentication
from toolservice.models import ToolCall
from toolservice.registry import ToolContext
from toolservice.schema import ERROR_RESPONSES

MAX_BODY_BYTES = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE default


class _JSONOnly(DefaultContentNegotiation):
    """Always answer JSON, whatever the Accept header says (errors included)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def error_response(failure: errors.ToolError) -> Response:
    return Response({"error": failure.as_dict()}, status=failure.status)


def parse_json_body(request) -> Any:
    """The request body as JSON (an empty body is ``{}``); ToolError(validation) otherwise."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise errors.ToolError(errors.VALIDATION, "the request body is too large")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise errors.ToolError(errors.VALIDATION, "the request body is too large")
    if not raw.strip():
        return {}
    try:
        # Strict JSON (no NaN or Infinity, finite numbers): what the audit row can store.
        return loads_strict(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.ToolError(errors.VALIDATION, "the request body must be JSON")


class ToolServiceView(APIView):
    """Base: job-credential authentication, JSON only, sanitized errors."""

    authentication_classes = [JobCredentialAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JSONOnly

    def handle_exception(self, exc):
        if isinstance(exc, errors.ToolError):
            response = error_response(exc)
            if exc.category == errors.AUTH:
                response["WWW-Authenticate"] = 'Bearer realm="mate-tools"'
            return response
        if isinstance(exc, MethodNotAllowed):
            body = {"error": {"category": errors.VALIDATION, "message": "method not allowed"}}
            return Response(body, status=405)
        return super().handle_exception(exc)

    @property
    def job(self) -> Job:
        return self.request.auth


TOOL_LIST = inline_serializer(
    "ToolList",
    {
        "tools": serializers.ListField(
            child=inline_serializer(
                "ToolDescription",
                {
                    "name": serializers.CharField(),
                    "description": serializers.CharField(),
                    "input_schema": serializers.DictField(),
                },
            )
        )
    },
)


class ToolListView(ToolServiceView):
    @extend_schema(
        summary="List the tools this job may use",
        responses={200: TOOL_LIST, **ERROR_RESPONSES},
    )
    def get(self, request):
        return Response({"tools": [t.describe() for t in calls.list_tools(self.job)]})


class ToolCallView(ToolServiceView):
    @extend_schema(
        summary="Call one tool with a JSON object of arguments",
        request={"application/json": {"type": "object", "additionalProperties": True}},
        responses={
            200: OpenApiResponse(
                inline_serializer("ToolResult", {"result": serializers.JSONField()})
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, name: str):
        arguments = parse_json_body(request)
        result = calls.call_tool(self.job, name, arguments, transport=ToolCall.Transport.REST)
        return Response({"result": result})


class CloneDoneView(ToolServiceView):
    @extend_schema(
        summary="The runtime reports the clone is done (the clone token is revoked)",
        request=None,
        responses={200: inline_serializer("Ok", {"ok": serializers.BooleanField()})},
    )
    def post(self, request):
        credentials.clone_done(self.job)
        return Response({"ok": True})


USAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "cost_usd": {"type": "number", "minimum": 0, "maximum": 999_999},
        "usage": {"type": "object"},
        "num_turns": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
    },
    "required": ["cost_usd"],
}
_USAGE_VALIDATOR = Draft202012Validator(USAGE_SCHEMA)


def usage_limit() -> Limit:
    """Reports a job may send per window: the runtime sends one at the end of its run."""
    return Limit(
        "usage-report",
        getattr(settings, "MATE_USAGE_REPORTS", 5),
        getattr(settings, "MATE_USAGE_REPORT_SECONDS", 60),
    )


def record_cost(job: Job, cost: Decimal) -> Decimal | None:
    """Raise the job's cost to ``cost``, never lower it (SPEC §6.6: nothing the container says
    lowers it); one conditional UPDATE, so concurrent reports keep the maximum. The cost kept."""
    lower = Q(cost_usd__isnull=True) | Q(cost_usd__lt=cost)
    Job.objects.filter(pk=job.pk).filter(lower).update(cost_usd=cost)
    return Job.objects.filter(pk=job.pk).values_list("cost_usd", flat=True).first()


class UsageView(ToolServiceView):
    @extend_schema(
        summary="The runtime reports the agent's usage and cost at the end of the run",
        request={"application/json": USAGE_SCHEMA},
        responses={
            200: inline_serializer("UsageOk", {"ok": serializers.BooleanField()}),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        if usage_limit().hit(str(self.job.uid)) > usage_limit().limit:
            raise errors.ToolError(
                errors.RATE_LIMIT, "too many usage reports for this job; send one at the end"
            )
        body = parse_json_body(request)
        if not isinstance(body, dict) or any(_USAGE_VALIDATOR.iter_errors(body)):
            raise errors.ToolError(
                errors.VALIDATION, "expected {cost_usd: number, usage: object, num_turns: int}"
            )
        cost = Decimal(str(body["cost_usd"])).quantize(Decimal("0.0001"))
        kept = record_cost(self.job, cost)
        turns = body.get("num_turns")
        # The runtime's report is the agent's own text: the tenant's secrets are masked (T19),
        # and it is stored within the audit's 16 KiB (T41).
        secrets = calls.audit_secrets(ToolContext(self.job))
        usage = calls.within_audit_limit(calls.audit_value(body.get("usage") or {}, secrets))
        line = f"agent usage: ${cost} over {turns if turns is not None else '?'} turns"
        if kept != cost:
            line += f" (reported; the job's cost stays ${kept})"
        timeline.append(
            self.job,
            "log",
            {"stream": "usage", "line": line, "cost_usd": str(cost), "num_turns": turns}
            | {"usage": usage},
        )
        return Response({"ok": True})
