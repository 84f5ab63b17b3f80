"""Event detection: one GitLab delivery in, Mate events out (SPEC §5.2, DESIGN §3).

Pure: no Django, no database, no network. Everything routing needs travels in `Event`.

    derivation = derive_events("Note Hook", payload, [BotRef(7, "mate-bot")], "mate-bot")
    for event in derivation.events: ...        # routed independently, in this order
    derivation.ignored                         # why there is no event (None if there are)

Routing passes the GitLab user ids of the tokens Mate minted that appear in the delivery
(`involved_user_ids(payload)` looked up in the database) as `minted_user_ids`.
"""

from .actors import (
    GITLAB_BOT_CAUSED,
    MATE_CAUSED,
    MATE_MR_REASON,
    involved_user_ids,
    is_gitlab_bot_username,
)
from .detect import derive_events
from .gitlab_test import GITLAB_TEST_DELIVERY
from .mentions import mentioned_usernames, visible_text
from .model import (
    EVENT_NAMES,
    SUPPORTED_HOOKS,
    BotRef,
    Derivation,
    Event,
    EventName,
    ObjectKind,
)
from .outcome import NO_BOT
from .subject import FORK_REASON, PIPELINE_MATE_REASON

__all__ = [
    "EVENT_NAMES",
    "FORK_REASON",
    "GITLAB_BOT_CAUSED",
    "GITLAB_TEST_DELIVERY",
    "MATE_CAUSED",
    "MATE_MR_REASON",
    "PIPELINE_MATE_REASON",
    "NO_BOT",
    "SUPPORTED_HOOKS",
    "BotRef",
    "Derivation",
    "Event",
    "EventName",
    "ObjectKind",
    "derive_events",
    "involved_user_ids",
    "is_gitlab_bot_username",
    "mentioned_usernames",
    "visible_text",
]
