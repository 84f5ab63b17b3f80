"""A GitLab stand-in for tests and demos (DESIGN §5).

``GitLabSim`` serves the part of GitLab's REST API v4 Mate uses, real git repositories over
smart HTTP, and sends webhooks the way GitLab does. It binds to 127.0.0.1 (or to ``host``, e.g.
a Docker bridge gateway of this machine) and imports nothing from Django. In tests use the
``gitlab_sim`` fixture (a fresh simulator per test)::

    bot = gitlab_sim.add_user("mate-bot")
    token = gitlab_sim.add_pat(bot, ["api"])
    project = gitlab_sim.add_project("acme/widgets", members={bot: MAINTAINER})
    gitlab_sim.add_hook(project, "http://127.0.0.1:8000/hook/<tenant>", token="secret")
    gitlab_sim.add_issue(project, "Broken", "details", author=bot)
    deliveries = gitlab_sim.assign_issue(project, 1, ["mate-bot"], by=bot)  # Issue Hook sent

Seeding helpers (``add_*``, ``commit_files``, ``create_branch``...) change state silently;
event helpers (``open_*``, ``assign_*``, ``add_labels``, ``post_note``, ``fail_pipeline``...)
change state and send webhooks synchronously, returning the deliveries. Changes made through
the REST API send their webhooks in the background (``wait_for_deliveries()``), as GitLab does.
Hooks: ``add_hook`` (project) and ``add_group_hook`` (a group: its projects and subgroups,
each hook with its own headers), ``redeliver`` ("Resend request"), the Test endpoint
(``POST /projects/:id/hooks/:hook_id/test/:trigger``, hook_test_data.py), and
``dispatcher.gitlab_version`` (below "17.4": no Idempotency-Key).
Run alone with a demo world: ``python -m tests.gitlab_sim --port 8929``.
"""

from .events import Emission
from .models import DEVELOPER, GUEST, MAINTAINER, OWNER, PLANNER, REPORTER
from .sim import GitLabSim, RequestRecord
from .webhooks import Delivery, new_signing_token, sign

__all__ = [
    "DEVELOPER",
    "GUEST",
    "MAINTAINER",
    "OWNER",
    "PLANNER",
    "REPORTER",
    "Delivery",
    "Emission",
    "GitLabSim",
    "RequestRecord",
    "new_signing_token",
    "sign",
]
