"""Hooks API: the project hook Test endpoint and group hooks (lib/api/project_hooks.rb,
lib/api/hooks/trigger_test.rb, ee/lib/api/group_hooks.rb).

- ``POST /projects/:id/hooks/:hook_id/test/:trigger`` (Maintainer): TestHooks::ProjectService
  builds the data (``hook_test_data``) and runs the hook at once (``force: true``), whether or
  not the hook takes that event; ``201 Created`` when the receiver answered 2xx, else 422 with
  the receiver's body or the reason there is no data.
- ``GET/POST /groups/:id/hooks``, ``GET/DELETE /groups/:id/hooks/:hook_id``: group hooks. GitLab
  lets a group's Owners manage them; the simulator keeps no group membership, so here that is
  an administrator's right.
"""

from __future__ import annotations

import uuid

from . import errors
from .group_hooks import GroupHook, create_group_hook, group_hooks, group_path
from .hook_test_data import TRIGGERS, NoTestData, build_test_data
from .models import MAINTAINER
from .routing import Ctx, Response, route
from .webhooks import HOOK_EVENTS, require_loopback

# X-Gitlab-Event per trigger the simulator can send (WebHookService.hook_to_event(hook_name)).
EVENT_HEADERS = {flag: event for flag, event in HOOK_EVENTS.values()}
EVENT_FLAGS = [
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "pipeline_events",
    "wiki_page_events",
    "job_events",
]


@route("POST", "/projects/:id/hooks/:hook_id/test/:trigger")
def test_project_hook(ctx: Ctx) -> Response:
    trigger = ctx.arg("trigger")
    if trigger not in TRIGGERS:
        raise errors.invalid("trigger")
    project = ctx.project()
    user = ctx.require_user()
    if ctx.state.access_level(user, project) < MAINTAINER:
        raise errors.forbidden()
    hook_id = ctx.int_arg("hook_id")
    hook = next((h for h in project.hooks if h.id == hook_id), None)
    if hook is None:
        raise errors.not_found("Hook")
    try:
        payload = build_test_data(ctx.sim, project, user, trigger)
    except NoTestData as exc:
        raise errors.render_error(str(exc), 422) from None
    event = EVENT_HEADERS.get(trigger)
    if event is None:
        raise errors.render_error(f"the GitLab simulator sends no {trigger}", 422)
    delivery = ctx.sim.dispatcher.build(hook, event, payload, str(uuid.uuid4()))
    sent = _send_unlocked(ctx, delivery)
    if sent.ok and sent.status < 300:
        return Response(201, {"message": "201 Created"})
    message = sent.error or sent.response_body.decode(errors="replace")
    raise errors.render_error(message, 422)


def _send_unlocked(ctx: Ctx, delivery):
    """Send while the simulator's state is free: the receiver may call the API back (Mate
    reads ``.mate.yml``) from another thread before it answers, as it may with GitLab."""
    lock = ctx.state.lock
    lock.release()
    try:
        return ctx.sim.dispatcher.send(delivery)
    finally:
        lock.acquire()


def group_hook_entity(hook: GroupHook) -> dict:
    """API::Entities::GroupHook, the fields a hook of the simulator has."""
    entity = {
        "id": hook.id,
        "url": hook.url,
        "name": None,
        "description": None,
        "group_id": hook.group_id,
        "created_at": hook.created_at.isoformat().replace("+00:00", "Z"),
        "enable_ssl_verification": True,
        "alert_status": "executable",
        "disabled_until": None,
        "url_variables": [],
        "custom_headers": [],
        "push_events_branch_filter": None,
        "branch_filter_strategy": "wildcard",
    }
    entity.update({flag: flag in hook.events for flag in EVENT_FLAGS})
    return entity


def _group(ctx: Ctx) -> str:
    user = ctx.require_user()
    path = group_path(ctx.state, ctx.arg("id"))
    if path is None:
        raise errors.not_found("Group")
    if not user.is_admin:
        raise errors.forbidden()
    return path


def _group_hook(ctx: Ctx, path: str) -> GroupHook:
    hook_id = ctx.int_arg("hook_id")
    hook = next((h for h in group_hooks(ctx.state).get(path, []) if h.id == hook_id), None)
    if hook is None:
        raise errors.not_found()
    return hook


@route("GET", "/groups/:id/hooks")
def list_group_hooks(ctx: Ctx) -> Response:
    path = _group(ctx)
    return ctx.paginate(list(group_hooks(ctx.state).get(path, [])), group_hook_entity)


@route("GET", "/groups/:id/hooks/:hook_id")
def get_group_hook(ctx: Ctx) -> Response:
    return Response(200, group_hook_entity(_group_hook(ctx, _group(ctx))))


@route("POST", "/groups/:id/hooks")
def add_group_hook(ctx: Ctx) -> Response:
    path = _group(ctx)
    (url,) = ctx.require("url")
    try:
        require_loopback(str(url), ctx.sim.host)
    except ValueError:
        raise errors.render_error(
            {"url": ["is blocked: Requests to this address are not allowed"]}, 422
        ) from None
    events = [flag for flag in EVENT_FLAGS if ctx.flag(flag, flag == "push_events")]
    token = ctx.params.get("token") or None
    hook = create_group_hook(ctx.state, path, str(url), token, None, events)
    return Response(201, group_hook_entity(hook))


@route("DELETE", "/groups/:id/hooks/:hook_id")
def delete_group_hook(ctx: Ctx) -> Response:
    path = _group(ctx)
    hook = _group_hook(ctx, path)
    group_hooks(ctx.state)[path].remove(hook)
    return Response(204)
