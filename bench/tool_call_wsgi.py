"""WSGI entry point for ``bench/tool_call.py``: Mate's application with the tool service routed
and the per-job rate limits lifted (a benchmark makes thousands of calls with one job).

Served by gunicorn as ``tool_call_wsgi:application`` (``--pythonpath bench``).
"""

from __future__ import annotations

import os

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import include, path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mate.settings")
django.setup()
settings.MATE_TOOL_BURST = 10**9
settings.MATE_TOOL_CALLS_PER_JOB = 10**9

from mate import urls as site  # noqa: E402 (needs the settings)

urlpatterns = list(site.urlpatterns)
if not any(getattr(p, "app_name", None) == "toolservice" for p in urlpatterns):
    urlpatterns.append(path("", include("toolservice.urls")))


class ToolServiceHandler(WSGIHandler):
    def get_response(self, request):
        request.urlconf = __name__
        return super().get_response(request)


application = ToolServiceHandler()
