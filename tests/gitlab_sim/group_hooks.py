"""Group webhooks (GitLab Premium): hooks on a group fire for the projects of the group and of
its subgroups, next to the projects' own hooks.

As GitLab does it (ee/app/models/ee/project.rb ``execute_hooks``: ``group_hooks`` are the hooks
of ``group.self_and_ancestors``, run with the same data as the project hooks): every hook, a
project's or a group's, gets its own WebHookService and so its own Idempotency-Key,
X-Gitlab-Webhook-UUID and X-Gitlab-Event-UUID. One GitLab event therefore reaches a receiver
registered on both a project and its group twice, with nothing in the headers in common.
Group hooks share the id sequence of project hooks (one ``web_hooks`` table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Hook, Project
from .webhooks import normalize_events, require_loopback, signing_key

if TYPE_CHECKING:
    from .store import State


@dataclass(eq=False)
class GroupHook(Hook):
    """A hook on a group; ``project_id`` is 0 (it belongs to no project)."""

    group_id: int = 0
    group_path: str = ""


def group_hooks(state: State) -> dict[str, list[GroupHook]]:
    """Group path -> its hooks, in creation order."""
    return state.group_hooks


def ancestor_paths(namespace_path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b", "a/b/c"]``: a namespace and the groups above it."""
    parts = namespace_path.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


def hooks_for(state: State, project: Project) -> list[Hook]:
    """The hooks that receive ``project``'s events: its own, then its groups' (top first)."""
    hooks: list[Hook] = list(project.hooks)
    by_group = group_hooks(state)
    for path in ancestor_paths(project.namespace_path):
        hooks.extend(by_group.get(path, ()))
    return hooks


def find_hook(state: State, hook_id: int) -> Hook:
    """The project or group hook with this id (KeyError when there is none)."""
    for project in state.projects.values():
        for hook in project.hooks:
            if hook.id == hook_id:
                return hook
    for hooks in group_hooks(state).values():
        for hook in hooks:
            if hook.id == hook_id:
                return hook
    raise KeyError(f"no hook {hook_id}")


def group_path(state: State, ref: int | str) -> str | None:
    """The full path of the group ``ref`` names (id or path), or None. A group is a namespace
    that holds projects directly or through subgroups, and is not a user's namespace."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        path = next((p for p, i in state.namespaces.items() if i == int(ref)), None)
    else:
        path = ref.strip("/")
    if not path:
        return None
    if "/" not in path and any(u.username == path for u in state.users.values()):
        return None
    held = any(
        p.namespace_path == path or p.namespace_path.startswith(path + "/")
        for p in state.projects.values()
    )
    return path if held or path in group_hooks(state) else None


class GroupHooksMixin:
    """``add_group_hook``: seeding, like ``add_hook`` for projects."""

    state: State
    host: str

    def add_group_hook(
        self,
        group: str,
        url: str,
        token: str | None = None,
        signing_token: str | None = None,
        events=None,
    ) -> GroupHook:
        """A webhook on ``group`` (its full path): it fires for every project in the group
        and its subgroups. ``events`` as for ``add_hook``."""
        require_loopback(url, self.host)
        if signing_token is not None:
            signing_key(signing_token)
        with self.state.lock:
            path = group_path(self.state, group)
            if path is None:
                raise KeyError(f"no such group: {group!r}")
            return create_group_hook(self.state, path, url, token, signing_token, events)


def create_group_hook(
    state: State, path: str, url: str, token: str | None, signing_token: str | None, events
) -> GroupHook:
    hook = GroupHook(
        id=state.next_id("hook"),
        project_id=0,
        url=url,
        token=token,
        signing_token=signing_token,
        events=normalize_events(events),
        created_at=state.now(),
        group_id=state.namespace_id(path),
        group_path=path,
    )
    group_hooks(state).setdefault(path, []).append(hook)
    return hook
