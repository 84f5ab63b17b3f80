"""WSGI entry point for ``bench/ingest.py``: Mate's own application plus two do-nothing baselines.

Served by gunicorn as ``ingest_wsgi:application`` (``--pythonpath bench``), so all three run in
the same worker processes and threads:

- ``/bare``: a plain WSGI callable answering 200 ``ok``; no Django, no database, no cache. The
  floor of gunicorn + HTTP parsing on this machine.
- ``/bare-django``: a Django view answering 200 ``ok`` behind Mate's full middleware stack
  (sessions, CSRF, auth, WhiteNoise...), without touching the database. The floor of a Django
  request in this project; the webhook's cost above it is the endpoint's own work.
- anything else: ``mate.wsgi.application`` unchanged (the webhook is ``POST /hook/<tenant>``).

Both baselines read the request body, as the webhook does, so the bytes moved are the same.
"""

from __future__ import annotations

import os

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mate.settings")

from mate.wsgi import application as mate_application  # noqa: E402 (needs the settings module)

OK = b"ok"
OK_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(OK)))]


def bare_wsgi(environ, start_response):
    stream = environ["wsgi.input"]
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    while remaining > 0:
        chunk = stream.read(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)
    start_response("200 OK", OK_HEADERS)
    return [OK]


@csrf_exempt
def bare_view(request):
    request.body  # noqa: B018 (read it, as the webhook does)
    return HttpResponse(OK, content_type="text/plain")


# This module is also the URLconf of the Django baseline (see BareDjangoHandler).
urlpatterns = [path("bare-django", bare_view)]


class BareDjangoHandler(WSGIHandler):
    """Django's own WSGI handler with Mate's settings and middleware, routing to this module."""

    def get_response(self, request):
        request.urlconf = __name__
        return super().get_response(request)


bare_django = BareDjangoHandler()


def application(environ, start_response):
    route = environ.get("PATH_INFO", "")
    if route == "/bare":
        return bare_wsgi(environ, start_response)
    if route == "/bare-django":
        return bare_django(environ, start_response)
    return mate_application(environ, start_response)
