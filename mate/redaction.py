"""Redaction of secret-shaped strings (DESIGN §4: secrets never in logs, events or errors).

Known token shapes are replaced by a marker that keeps the prefix, so an operator can still tell
what kind of secret was removed. Exact values (a tenant's own secrets) can be added per call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MARK = "[REDACTED]"
_REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) (HTTP/[0-9.]+)"')

TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    # GitLab personal/project/group access tokens, deploy and runner tokens, OAuth.
    re.compile(r"\b(gl(?:pat|dt|rt|oas|ptt|ft|imt|agent|soat|cbt|wt)-)[A-Za-z0-9_.\-]{8,}"),
    re.compile(r"\b(sk-ant-)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\b(sk-or-)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\b(mjt_)[A-Za-z0-9_\-]{8,}"),  # Mate job credentials
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_.~+/=\-]{8,}"),
    re.compile(r"(?i)(private-token:\s*|x-gitlab-token:\s*)[^\s,;]{4,}"),
    re.compile(r"(?i)(://[^/\s:@]*:)[^@\s/]{4,}(?=@)"),  # credentials in URLs
)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """Return ``text`` with token shapes and any of ``extra`` (exact values) masked."""
    for value in extra:
        if value and len(value) >= 6:
            text = text.replace(value, MARK)
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MARK, text)
    return text


def contains_secret(text: str, extra: Iterable[str] = ()) -> bool:
    return redact(text, extra) != text


def _request_path_to_route(record: logging.LogRecord, message: str) -> str:
    """Django's request records (``Not Found: /tools/<text>``) name the raw path and carry the
    request: both become the matched route, since a path is text the caller chose."""
    request = getattr(record, "request", None)
    path = getattr(request, "path", None)
    if request is None:
        return message
    if isinstance(path, str):
        from mate.routes import route_of

        route = route_of(path)
        for raw in {getattr(request, "path_info", path), path}:
            if raw and raw != "/":
                message = message.replace(raw, route)
        record.request = f"{getattr(request, 'method', '-')} {route}"
    else:  # the development server's records carry its socket and the request line
        from mate.routes import route_of

        record.request = "[request]"
        message = _REQUEST_LINE.sub(
            lambda m: f'"{m[1]} {route_of(m[2].split("?", 1)[0])} {m[3]}"', message
        )
    return message


class RedactingFilter(logging.Filter):
    """Logging filter: formats the message once, redacts it, and drops the raw args."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        message = _request_path_to_route(record, message)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so the formatter does not print raw values.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True
