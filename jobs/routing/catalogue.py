"""OpenRouter's public model catalogue, fetched at most every 10 minutes (SPEC §5.3 step 5)."""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)
CACHE_KEY = "openrouter-models"
TTL_SECONDS = 600


def known_models() -> frozenset[str] | None:
    """The catalogue's model ids, or None when it cannot be fetched (the check is skipped)."""
    url = settings.MATE_OPENROUTER_MODELS_URL
    if not url:
        return None
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return frozenset(cached) if cached != "unavailable" else None
    try:
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        ids = sorted({str(item["id"]) for item in response.json()["data"]})
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        log.warning("OpenRouter model catalogue unavailable (%s); model check skipped", exc)
        cache.set(CACHE_KEY, "unavailable", 60)
        return None
    cache.set(CACHE_KEY, ids, TTL_SECONDS)
    return frozenset(ids)


def model_refusal(provider: str, model: str) -> str | None:
    """A refusal reason when an OpenRouter model id is not in the catalogue, else None."""
    if provider != "openrouter":
        return None
    models = known_models()
    if models is None or model in models:
        return None
    return f"model {model} is not in OpenRouter's model catalogue; fix the agent's model id"
