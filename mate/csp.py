"""Content-Security-Policy for the console (THREATS T29): scripts only from our own static files.

Every console script is a static file (the config editor bundle, jobs.js); no page has an inline
script or event handler, so even markup injected by a rendering bug could not run. Styles may be
inline because the editor (CodeMirror) sets them at run time.
"""

from __future__ import annotations

import functools

from django.urls import URLPattern

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(view):
    """Add the console policy to the view's responses (unless the view set its own)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = POLICY
        return response

    return wrapped


def with_policy(patterns: list) -> list:
    """The same URL patterns, each view wrapped by ``content_security_policy``."""
    return [
        URLPattern(p.pattern, content_security_policy(p.callback), p.default_args, p.name)
        for p in patterns
    ]
