"""MCP transport of the tool service (SPEC §7.1): Streamable HTTP, JSON responses, stateless.

``POST /mcp`` takes one JSON-RPC 2.0 message: ``initialize``, ``ping``, ``tools/list`` and
``tools/call`` get a JSON answer; notifications (``notifications/initialized`` ...) and client
responses get ``202`` with no body. ``GET /mcp`` (a server-sent event stream) answers ``405``:
there is nothing to push. No session id is issued; every request carries the job credential and
goes through the same authentication and call path as REST.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from toolservice import api, calls, errors
from toolservice.auth import authenticate_request
from toolservice.models import ToolCall

SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
SERVER_INFO = {"name": "mate", "title": "Mate GitLab tools", "version": "1"}
INSTRUCTIONS = (
    "Tools act on the GitLab project of this job only. Call get_job_context first. "
    "Errors carry a category: auth, permission, not_found, validation, rate_limit, conflict, "
    "upstream."
)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_ERROR = -32000  # transport-level refusal (auth, rate limit, origin)


def _error(code: int, message: str, request_id: Any = None, status: int = 200) -> JsonResponse:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return JsonResponse(body, status=status)


def _result(request_id: Any, result: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"jsonrpc": "2.0", "id": request_id, "result": result})


def _refusal(failure: errors.ToolError) -> JsonResponse:
    response = _error(SERVER_ERROR, f"{failure.category}: {failure.message}", status=failure.status)
    if failure.category == errors.AUTH:
        response["WWW-Authenticate"] = 'Bearer realm="mate-tools"'
    return response


def _initialize(job, params: dict[str, Any]) -> dict[str, Any]:
    asked = params.get("protocolVersion")
    version = asked if asked in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
    return {
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": False}},
        "serverInfo": SERVER_INFO,
        "instructions": INSTRUCTIONS,
    }


def _list_tools(job, params: dict[str, Any]) -> dict[str, Any]:
    tools = [
        {
            "name": t.name,
            "description": t.description,
            "inputSchema": t.schema,
            "annotations": {"readOnlyHint": t.read_only, "destructiveHint": False},
        }
        for t in calls.list_tools(job)
    ]
    return {"tools": tools}


def _text(payload: Any) -> list[dict[str, str]]:
    return [{"type": "text", "text": json.dumps(payload, ensure_ascii=False)}]


def _call_tool(job, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("name")
    arguments = params.get("arguments")
    if not isinstance(name, str):
        raise _Invalid("params.name must be a string")
    try:
        result = calls.call_tool(
            job, name, {} if arguments is None else arguments, transport=ToolCall.Transport.MCP
        )
    except errors.ToolError as failure:
        if isinstance(failure, errors.UnknownTool):
            raise _Invalid(failure.message) from None
        return {"content": _text({"error": failure.as_dict()}), "isError": True}
    return {"content": _text(result), "isError": False}


class _Invalid(Exception):
    """A JSON-RPC invalid-params error (also the unknown-tool answer, SPEC §7.2 step 3)."""


METHODS = {
    "initialize": _initialize,
    "ping": lambda job, params: {},
    "tools/list": _list_tools,
    "tools/call": _call_tool,
}


def _dispatch(job, message: dict[str, Any]) -> HttpResponse:
    request_id = message.get("id")
    handler = METHODS.get(message["method"])
    if handler is None:
        return _error(METHOD_NOT_FOUND, "method not found", request_id)
    params = message.get("params") or {}
    if not isinstance(params, dict):
        return _error(INVALID_PARAMS, "params must be an object", request_id)
    try:
        return _result(request_id, handler(job, params))
    except _Invalid as exc:
        return _error(INVALID_PARAMS, str(exc), request_id)


def _post(request) -> HttpResponse:
    if "HTTP_ORIGIN" in request.META:  # no browser has business here (DNS rebinding)
        return _error(SERVER_ERROR, "cross-origin requests are refused", status=403)
    version = request.META.get("HTTP_MCP_PROTOCOL_VERSION")
    if version is not None and version not in SUPPORTED_VERSIONS:
        return _error(INVALID_REQUEST, "unsupported MCP protocol version", status=400)
    try:
        job = authenticate_request(request)
        message = api.parse_json_body(request)
    except errors.ToolError as failure:
        if failure.category == errors.VALIDATION:
            return _error(PARSE_ERROR, failure.message, status=400)
        return _refusal(failure)
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return _error(INVALID_REQUEST, "expected one JSON-RPC 2.0 message", status=400)
    if not isinstance(message.get("method"), str) or "id" not in message:
        return HttpResponse(status=202)  # a notification or a response: nothing to answer
    return _dispatch(job, message)


@csrf_exempt
def endpoint(request) -> HttpResponse:
    if request.method == "POST":
        return _post(request)
    response = HttpResponse(status=405)
    response["Allow"] = "POST"
    return response
