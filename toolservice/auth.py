"""Job-credential authentication, shared by the REST and MCP transports (SPEC §7.2 step 1).

A request carries ``Authorization: Bearer <job credential>``. Failed checks are counted per
client address; once over the limit, failed checks are answered ``rate_limit`` (THREATS T22). The
credential is checked first, so a valid one is never refused by another caller's failures (T34). The credential → job look-up itself belongs to ``jobs.credentials``,
which only answers for live credentials (T7, T8).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.authentication import BaseAuthentication

from jobs import credentials
from jobs.models import Job
from mate.ratelimit import FailureLimit, client_address
from toolservice import errors

MAX_TOKEN_LENGTH = 512


def failure_limit() -> FailureLimit:
    per_minute = getattr(settings, "MATE_TOOL_AUTH_FAILURES_PER_MINUTE", 30)
    return FailureLimit("tool-auth-failures", per_minute, 60)


def bearer_token(meta: dict) -> str | None:
    header = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def authenticate_request(request) -> Job:
    """The live job behind the request's credential, or ToolError(auth | rate_limit)."""
    token = bearer_token(request.META)
    job = credentials.authenticate(token) if token else None
    if job is None or job.tenant.suspended:
        if failure_limit().refuses(client_address(request)):
            raise errors.ToolError(errors.RATE_LIMIT, "too many failed credential checks; wait")
        raise errors.ToolError(errors.AUTH)
    return job


class JobCredentialAuthentication(BaseAuthentication):
    """DRF adapter: ``request.auth`` is the Job. Errors are ToolErrors, rendered by the views."""

    def authenticate(self, request):
        return (None, authenticate_request(request))

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="mate-tools"'
