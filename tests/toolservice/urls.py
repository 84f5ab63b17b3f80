"""The site's URLs plus the tool service, for as long as mate/urls.py does not include it."""

from django.urls import include, path

from mate import urls as site

urlpatterns = list(site.urlpatterns)
if not any(getattr(p, "app_name", None) == "toolservice" for p in urlpatterns):
    urlpatterns.append(path("", include("toolservice.urls")))
