from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

import tenants.urls
from mate import health

# The operator console: every app's pages share the ``console`` namespace (console:home is the
# tenant list and LOGIN_REDIRECT_URL).
console_patterns = ([*tenants.urls.urlpatterns], "console")

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("jobs.urls")),
    path("", include("toolservice.urls")),
    path("", include(console_patterns)),
]
