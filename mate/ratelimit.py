"""Fixed-window counters in the shared cache, for rate limits that must hold across processes
(failed webhook credentials, logins, job credentials, explain, a tenant's deliveries).

Failed credentials are limited by ``FailureLimit``, one rule for every credential an outsider
presents (THREATS T22, T34): the credential is checked first, a valid one is never refused, and
only failures are counted and, once over the limit, answered 429. GitLab.com and shared instances
send every customer's hooks from a few addresses; keying the webhook count by (address, tenant
id) keeps one stranger's failures from disabling another tenant's hooks.

When the cache cannot be reached (Redis restarting), a limit lets the request through and logs a
warning: an outage of the cache must not turn GitLab's valid deliveries or operators' sign-ins
into errors (THREATS T30). Credentials are still checked; only the throttle is off meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)


def _cache_down(scope: str, exc: Exception) -> None:
    log.warning(
        "rate limit %s not enforced: the cache is unreachable (%s)", scope, type(exc).__name__
    )


class Limit:
    def __init__(self, scope: str, limit: int, window_seconds: int) -> None:
        self.scope, self.limit, self.window = scope, limit, window_seconds

    def _key(self, ident: str) -> str:
        return f"rl:{self.scope}:{ident}:{int(time.time() // self.window)}"

    def exceeded(self, ident: str) -> bool:
        """True once ``limit`` hits were recorded for ``ident`` in the current window."""
        try:
            return (cache.get(self._key(ident)) or 0) >= self.limit
        except Exception as exc:  # the cache backend's connection errors have no common base
            _cache_down(self.scope, exc)
            return False

    def hit(self, ident: str) -> int:
        """Count one hit; returns the count in this window (0 when the cache is unreachable)."""
        key = self._key(ident)
        try:
            if cache.add(key, 1, timeout=self.window + 1):
                return 1
            try:
                return cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=self.window + 1)
                return 1
        except Exception as exc:
            _cache_down(self.scope, exc)
            return 0


class Budget(Limit):
    """A limit on work done (explain runs, a tenant's stored deliveries): each use counts."""

    def take(self, ident: str) -> bool:
        """Count one use; False when it is over the limit in this window (True when the cache
        is unreachable: an outage must not refuse work)."""
        return self.hit(ident) <= self.limit


class FailureLimit(Limit):
    """Failed credential checks, counted per ``ident``. Only a request whose credential failed
    is ever looked at, so a valid credential is never refused by anyone's failures."""

    def refuses(self, ident: str) -> bool:
        """Call once the credential failed. True (answer 429) once ``limit`` failures were
        counted for ``ident`` in this window; otherwise the failure is counted and False
        (answer the usual 401)."""
        if self.exceeded(ident):
            return True
        self.hit(ident)
        return False


def pair(*parts: str) -> str:
    """One cache-safe identifier for several untrusted parts (an address and a tenant id from
    the URL): hashed, so its length and characters never depend on what a client sent."""
    joined = "\x00".join(parts).encode("utf-8", "replace")
    return hashlib.sha256(joined).hexdigest()[:32]


def client_address(request) -> str:
    """The peer address. Proxies are not trusted unless the deployment strips X-Forwarded-For."""
    return request.META.get("REMOTE_ADDR") or "unknown"
