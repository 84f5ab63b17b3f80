"""Fuzzing the tool service (SPEC §7): Schemathesis against the published OpenAPI schema of the
REST transport, in-process through Django's WSGI handler, and hypothesis against ``POST /mcp``.

Both run with a live job credential (every authority) on the GitLab simulator of
tests/toolservice/conftest.py. Neither may ever produce a 5xx; every MCP answer is a JSON-RPC
2.0 message, a 202 with no body, or a 4xx.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.toolservice.conftest import ALL_AUTHORITIES, _tool_service_urls, world
from toolservice import calls
from toolservice.models import ToolCall

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

pytestmark = pytest.mark.django_db

FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def credential(world, settings):
    """A live job with every authority; per-job rate limits out of the fuzzer's way."""
    settings.MATE_TOOL_BURST = 100_000
    settings.MATE_TOOL_CALLS_PER_JOB = 100_000
    return world.job(ALL_AUTHORITIES, kind="merge_request")


@pytest.fixture
def wsgi_app(settings):
    """Django's own WSGI handler, as gunicorn runs it. It closes the database connection around
    each request (``close_old_connections``), which would end the test's transaction; Django's
    test client turns that off the same way."""
    settings.ALLOWED_HOSTS = ["*"]
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def tool_api(wsgi_app, credential):
    return schemathesis.openapi.from_wsgi("/tools/schema", wsgi_app)


schema = schemathesis.pytest.from_fixture("tool_api")


@schema.parametrize()
@settings(FUZZ, max_examples=40)
def test_rest_tool_api_never_answers_5xx(case, credential):
    cache.clear()  # failed credential checks (generated on purpose) would rate-limit the rest
    _, token = credential
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    event(f"{case.method} {case.path} -> {response.status_code}")
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if response.status_code != 204:
        assert isinstance(json.loads(response.content), dict)


# --- MCP ---------------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
# Weighted towards tools/call, where the tools themselves are reached.
METHODS = st.sampled_from(
    ["tools/call"] * 6 + ["initialize", "ping", "tools/list", "notifications/initialized", ""]
)
IDS = st.none() | st.integers() | st.text(max_size=20) | st.just([1]) | st.floats(0, 10)


@st.composite
def tool_arguments(draw, names: list[str]) -> dict[str, Any]:
    """Real tool names with arguments near their schema: plausible keys, random values."""
    keys = ["iid", "body", "branch", "ref", "path", "pipeline_id", "job_id", "title", "actions"]
    keys += ["commit_message", "source_branch", "target_branch", "draft", "sha", "start_branch"]
    arguments = draw(st.dictionaries(st.sampled_from(keys), JSON_VALUES, max_size=5))
    return {"name": draw(st.sampled_from(names) | st.text(max_size=20)), "arguments": arguments}


@st.composite
def mcp_messages(draw, names: list[str]) -> Any:
    method = draw(METHODS) if draw(st.integers(0, 9)) else draw(st.text(max_size=30))
    if method == "tools/call" and draw(st.integers(0, 4)):
        params: Any = draw(tool_arguments(names))
    elif method == "initialize":
        params = {"protocolVersion": draw(st.sampled_from(["2025-06-18", "1999-01-01", 3]))}
    else:
        params = draw(st.none() | JSON_VALUES)
    message: dict[str, Any] = {"jsonrpc": draw(st.sampled_from(["2.0"] * 8 + ["1.0", 2]))}
    message["method"] = method
    if draw(st.integers(0, 9)):  # mostly requests; sometimes notifications (no id)
        message["id"] = draw(IDS)
    if params is not None or draw(st.booleans()):
        message["params"] = params
    if draw(st.integers(0, 9)):
        return message
    return draw(st.sampled_from([[message], "text", 42, None]))  # batches and non-objects


def _check_mcp_answer(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code == 202:
        assert response.content == b""
        return
    body = json.loads(response.content)
    assert body["jsonrpc"] == "2.0"
    assert "id" in body
    assert ("result" in body) != ("error" in body)
    if "error" in body:
        assert isinstance(body["error"]["code"], int)
        assert isinstance(body["error"]["message"], str)
    else:
        assert response.status_code == 200


def test_mcp_json_rpc_fuzz(credential):
    job, token = credential
    names = [tool.name for tool in calls.list_tools(job)]

    @settings(FUZZ, max_examples=150)
    @given(
        message=mcp_messages(names),
        raw=st.sampled_from([None] * 9) | st.binary(max_size=300),
        headers=st.dictionaries(
            st.sampled_from(["HTTP_MCP_PROTOCOL_VERSION", "HTTP_ACCEPT", "CONTENT_TYPE"]),
            st.sampled_from(["2025-06-18", "2024-11-05", "bogus", "application/json", ""]),
            max_size=1,
        ),
        auth=st.sampled_from(["valid"] * 6 + ["missing", "garbage"]),
    )
    def fuzz(message, raw, headers, auth):
        cache.clear()  # failed credential checks would soon rate-limit everything
        client = APIClient()
        if auth == "valid":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        elif auth == "garbage":
            client.credentials(HTTP_AUTHORIZATION="Bearer mjt_not-a-credential")
        data = raw if raw is not None else json.dumps(message).encode()
        content_type = headers.pop("CONTENT_TYPE", "application/json")
        response = client.generic("POST", "/mcp", data, content_type=content_type, **headers)
        event(f"mcp -> {response.status_code}")
        _check_mcp_answer(response)

    fuzz()
    assert ToolCall.objects.filter(job=job, transport="mcp").exists(), "no tool was ever called"


# Found by the fuzzers above (each was a 500 on SQLite, PostgreSQL or both).
BAD_BODIES = [
    b"null",  # arguments None: the audit row's NOT NULL column
    b'{"iid": NaN}',
    b'{"iid": Infinity}',
    b'{"iid": 1e400}',
    b'{"iid": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # RecursionError while parsing
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: b[:12].decode())
def test_bodies_that_were_server_errors_are_validation_errors(world, credential, body):
    job, token = credential
    client = world.client(token)
    response = client.generic("POST", "/tools/get_issue", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["category"] == "validation"
    rpc = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ' + body + b"}"
    response = client.generic("POST", "/mcp", rpc, content_type="application/json")
    assert response.status_code in (200, 400)
    assert "error" in response.json()


def test_nul_and_lone_surrogates_in_arguments_and_tool_names_are_audited(world, credential):
    job, token = credential
    client = world.client(token)
    body = r'{"iid": 1, "note": "a\u0000b", "x\ud800": "\udfff"}'
    response = client.generic("POST", "/tools/get_issue", body, content_type="application/json")
    assert response.status_code == 400  # unknown arguments; but recorded, not a 500
    response = client.generic("POST", "/tools/get%00issue", "{}", content_type="application/json")
    assert response.status_code == 404
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "a\u0000"}}
    response = client.generic("POST", "/mcp", json.dumps(rpc), content_type="application/json")
    assert response.status_code == 200
    stored = json.dumps(list(ToolCall.objects.filter(job=job).values("tool", "arguments")))
    assert "\\u0000" not in stored
