"""gunicorn's access log without caller-chosen text (THREATS T19): the path is logged as the
route it matched (mate/routes.py), the query string, referer, basic-auth user and request headers
are left out, and the user agent is redacted. ``gunicorn.conf.py`` selects this class,
so every gunicorn Mate runs (Procfile, compose, Dockerfile) uses it."""

from __future__ import annotations

from gunicorn.glogging import Logger

from mate.redaction import redact

KEPT = ("h", "l", "t", "s", "m", "H", "b", "B", "T", "D", "M", "L", "p")


class RouteAccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        raw = super().atoms(resp, req, environ, request_time)
        atoms = {key: raw[key] for key in KEPT if key in raw}
        try:
            from mate.routes import route_of

            path = route_of(environ.get("PATH_INFO") or "/")
        except Exception:  # Django not loaded (yet): say nothing rather than the raw path
            path = "/[path not logged]"
        method, protocol = environ.get("REQUEST_METHOD", "-"), environ.get("SERVER_PROTOCOL", "-")
        atoms.update(
            r=f"{method} {path} {protocol}",
            U=path,
            q="",
            f="-",
            u="-",
            a=redact(str(raw.get("a", "-"))),
        )
        return atoms
