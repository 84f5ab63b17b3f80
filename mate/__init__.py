"""Mate: runs autonomous AI coding agents on GitLab events."""

from mate.celery import app as celery_app

__all__ = ["celery_app"]
