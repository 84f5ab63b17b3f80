from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

import jobs.console_urls
import tenants.urls
from mate import health, metrics
from mate.auth import login_view  # sign-in with brute-force limits (T22)
from mate.csp import content_security_policy, with_policy

# The operator console: every app's pages share the ``console`` namespace (console:home is the
# tenant list and LOGIN_REDIRECT_URL). Each console view answers with the console's CSP.
console_patterns = (
    with_policy([*tenants.urls.urlpatterns, *jobs.console_urls.urlpatterns]),
    "console",
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("login/", content_security_policy(login_view), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("jobs.urls")),
    path("", include("toolservice.urls")),
    path("", include(console_patterns)),
]
