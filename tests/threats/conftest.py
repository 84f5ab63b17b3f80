"""Shared setup for the threat tests."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(autouse=True)
def _private_rate_limit_cache(settings):
    """Rate-limit counters in a cache of this test alone.

    The default cache is a directory under MATE_VAR_DIR shared by every process on the machine,
    and every test clears it first: a test run next to another one would see its counters wiped
    at random. An in-process cache keeps these counting tests deterministic.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"threats-{uuid.uuid4().hex}",
        }
    }
