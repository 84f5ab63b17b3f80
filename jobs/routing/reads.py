"""The GitLab reads of one delivery, each question asked at most once (THREATS T44).

Answers and errors are both kept, so a failing GitLab is asked once per question too. Bots see
differently, so every question is per bot. The actor's membership is also kept a short while
in Django's cache across deliveries (``MEMBER_TTL``): a storm of mentions by one person costs
one members request, not one per delivery. A failure is never cached there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from jobs.routing.gitlab_reads import BotReader, RepoFile
from tenants.models import Bot, Tenant

T = TypeVar("T")
MEMBER_TTL = 30  # seconds: a membership change counts within half a minute


class DeliveryReads:
    """Make one per delivery and pass it to every ``consider`` of that delivery."""

    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant
        self._readers: dict[int, BotReader] = {}
        self._answers: dict[tuple, tuple[object, Exception | None]] = {}

    def _reader(self, bot: Bot) -> BotReader:
        if bot.pk not in self._readers:
            self._readers[bot.pk] = BotReader(self._tenant, bot)
        return self._readers[bot.pk]

    def _once(self, key: tuple, ask: Callable[[], T]) -> T:
        if key not in self._answers:
            try:
                self._answers[key] = (ask(), None)
            # Every failure is kept, an unforeseen one too: asked again, GitLab would be asked
            # twice, and routing must meet what its read-ahead met.
            except Exception as exc:
                self._answers[key] = (None, exc)
        value, error = self._answers[key]
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    def project_visible(self, bot: Bot, project_id: int) -> bool:
        return self._once(
            ("visible", bot.pk, project_id),
            lambda: self._reader(bot).project_visible(project_id),
        )

    def repo_file(self, bot: Bot, project_id: int, path: str, ref: str) -> RepoFile:
        return self._once(
            ("file", bot.pk, project_id, path, ref),
            lambda: self._reader(bot).repo_file(project_id, path, ref),
        )

    def issuable(self, bot: Bot, project_id: int, kind: str, iid: int) -> dict | None:
        return self._once(
            ("issuable", bot.pk, project_id, kind, iid),
            lambda: self._reader(bot).issuable(project_id, kind, iid),
        )

    def note(self, bot: Bot, project_id: int, kind: str, iid: int, note_id: int) -> dict | None:
        return self._once(
            ("note", bot.pk, project_id, kind, iid, note_id),
            lambda: self._reader(bot).note(project_id, kind, iid, note_id),
        )

    def pipeline(self, bot: Bot, project_id: int, pipeline_id: int) -> dict | None:
        return self._once(
            ("pipeline", bot.pk, project_id, pipeline_id),
            lambda: self._reader(bot).pipeline(project_id, pipeline_id),
        )

    def member(self, bot: Bot, project_id: int, user_id: int) -> dict | None:
        """The user's membership of the project (None: not a member), cached briefly."""
        return self._once(
            ("member", bot.pk, project_id, user_id),
            lambda: self._cached_member(bot, project_id, user_id),
        )

    def _cached_member(self, bot: Bot, project_id: int, user_id: int) -> dict | None:
        key = f"mate:routing:member:{self._tenant.pk}:{bot.pk}:{project_id}:{user_id}"
        kept = cache.get(key)
        if isinstance(kept, dict) and "member" in kept:
            return kept["member"]
        member = self._reader(bot).member(project_id, user_id)  # raises: nothing is cached
        cache.set(key, {"member": member}, MEMBER_TTL)
        return member
