from django.urls import path

from jobs import webhooks

urlpatterns = [path("hook/<str:tenant_id>", webhooks.receive, name="webhook")]
