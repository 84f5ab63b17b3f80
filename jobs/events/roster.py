"""The tenant's registered bots as event detection sees them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .actors import GITLAB_BOT_CAUSED, MATE_CAUSED, is_gitlab_bot_username
from .model import BotRef
from .payload import Person, is_int


@dataclass(frozen=True)
class Roster:
    """Registered bots in registration order, the default bot (one of them, or None), and the
    GitLab user ids of the tokens Mate minted for the tenant (`minted`)."""

    bots: tuple[BotRef, ...]
    default: BotRef | None
    minted: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls, bots: Sequence[BotRef], default_bot: str | None, minted: Iterable[int] = ()
    ) -> Roster:
        """Build from the caller's lists: malformed or repeated entries are dropped, and a
        default bot that is not registered is no default bot (the acting bot is always a
        registered one)."""
        kept: list[BotRef] = []
        for bot in bots:
            if not _valid(bot) or any(_same(bot, other) for other in kept):
                continue
            kept.append(bot)
        default = next((b for b in kept if b.username == default_bot), None)
        return cls(tuple(kept), default, frozenset(uid for uid in minted if is_int(uid)))

    def among(self, persons: Iterable[Person]) -> list[BotRef]:
        """The registered bots that are among `persons`, in registration order."""
        found = list(persons)
        return [
            bot for bot in self.bots if any(p.is_user(bot.user_id, bot.username) for p in found)
        ]

    def newly_among(self, previous: Iterable[Person], current: Iterable[Person]) -> list[BotRef]:
        """Bots among `current` but not among `previous`, in registration order."""
        before = set(self.among(previous))
        return [bot for bot in self.among(current) if bot not in before]

    def is_bot(self, user: Person | None, user_id: int | None) -> bool:
        """Whether a registered bot is that user: by id *or* username (either suffices, so
        that a note can never slip through as human and start a bot ping-pong)."""
        for bot in self.bots:
            if user_id == bot.user_id:
                return True
            if user is not None and bot.user_id == user.user_id:
                return True
            if user is not None and bot.username == user.username:
                return True
        return False

    def caused_by(self, user: Person | None, user_id: int | None = None) -> str | None:
        """Why an action by that user is Mate's own (SPEC §5.2), or None for a person.

        `user` is the payload's user object, `user_id` another id the payload gives for the
        same user (a note's `author_id`): any one of them being Mate's suffices.
        """
        ids = {uid for uid in (user_id, user.user_id if user else None) if uid is not None}
        if self.is_bot(user, user_id) or ids & self.minted:
            return MATE_CAUSED
        if user is not None and is_gitlab_bot_username(user.username):
            return GITLAB_BOT_CAUSED
        return None

    def authored_by_mate(self, author_id: int | None, names: dict[int, str]) -> bool:
        """Whether an issue's/MR's author (`author_id`, named through `names` when the payload
        shows the username) is one of the users whose events Mate caused."""
        if author_id is None:
            return False
        return self.caused_by(Person(author_id, names.get(author_id))) is not None

    def named(self, username: str) -> BotRef | None:
        """The registered bot with this username, or None."""
        return next((bot for bot in self.bots if bot.username == username), None)

    def people(self) -> tuple[Person, ...]:
        """The bots as persons (for naming assignee ids the payload leaves bare)."""
        return tuple(Person(bot.user_id, bot.username) for bot in self.bots)


def _valid(bot: object) -> bool:
    """A BotRef with an integer id and a non-empty username."""
    return (
        isinstance(bot, BotRef)
        and is_int(bot.user_id)
        and isinstance(bot.username, str)
        and bool(bot.username)
    )


def _same(bot: BotRef, other: BotRef) -> bool:
    """Two entries for one GitLab user (same id or same username)."""
    return bot.user_id == other.user_id or bot.username == other.username
