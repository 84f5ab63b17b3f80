"""Tool service routes (SPEC §7.1). Included at the site root by mate/urls.py."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from toolservice import api, mcp

app_name = "toolservice"

urlpatterns = [
    path("tools/", api.ToolListView.as_view(), name="list"),
    path(
        "tools/schema",
        SpectacularAPIView.as_view(urlconf="toolservice.urls", api_version="1"),
        name="schema",
    ),
    path("tools/_clone-done", api.CloneDoneView.as_view(), name="clone-done"),
    path("tools/_usage", api.UsageView.as_view(), name="usage"),
    path("tools/<str:name>", api.ToolCallView.as_view(), name="call"),
    path("mcp", mcp.endpoint, name="mcp"),
]
