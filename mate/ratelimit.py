"""Fixed-window counters in the shared cache, for rate limits that must hold across processes
(failed webhook credentials, logins, job credentials). Checked before any expensive work."""

from __future__ import annotations

import time

from django.core.cache import cache


class Limit:
    def __init__(self, scope: str, limit: int, window_seconds: int) -> None:
        self.scope, self.limit, self.window = scope, limit, window_seconds

    def _key(self, ident: str) -> str:
        return f"rl:{self.scope}:{ident}:{int(time.time() // self.window)}"

    def exceeded(self, ident: str) -> bool:
        """True once ``limit`` hits were recorded for ``ident`` in the current window."""
        return (cache.get(self._key(ident)) or 0) >= self.limit

    def hit(self, ident: str) -> int:
        key = self._key(ident)
        if cache.add(key, 1, timeout=self.window + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window + 1)
            return 1


def client_address(request) -> str:
    """The peer address. Proxies are not trusted unless the deployment strips X-Forwarded-For."""
    return request.META.get("REMOTE_ADDR") or "unknown"
