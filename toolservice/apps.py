from django.apps import AppConfig


class ToolserviceConfig(AppConfig):
    name = "toolservice"
    default_auto_field = "django.db.models.BigAutoField"
