"""The Celery app. Configuration lives in settings (``CELERY_*``); tasks are discovered per app."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mate.settings")

app = Celery("mate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("jobs"))
app.autodiscover_tasks()
