"""Users, token self-information, version, project access tokens."""

from __future__ import annotations

import datetime as dt
import secrets

from . import errors
from .entities import token_entity, user_full
from .models import ACCESS_NAMES, KNOWN_SCOPES, MAINTAINER, RESOURCE_BOT_SCOPES, Token, User
from .routing import Ctx, Response, route
from .seeding import new_token_string
from .webhooks import GITLAB_VERSION

ALL_SCOPES = tuple(sorted(KNOWN_SCOPES))
MAX_LIFETIME_DAYS = 365  # PersonalAccessToken::MAX_PERSONAL_ACCESS_TOKEN_LIFETIME_IN_DAYS


@route("GET", "/user", scopes=("api", "read_api", "read_user"))
def current_user(ctx: Ctx) -> Response:
    return Response(200, user_full(ctx.sim, ctx.require_user()))


@route("GET", "/version", scopes=("api", "read_api", "read_user"))
def version(ctx: Ctx) -> Response:
    ctx.require_user()
    return Response(
        200,
        {
            "version": f"{GITLAB_VERSION}-ee",
            "revision": "0a1b2c3d4e5",
            "kas": {},
            "enterprise": True,
        },
    )


@route("GET", "/users", scopes=("api", "read_api", "read_user"))
def list_users(ctx: Ctx) -> Response:
    ctx.require_user()
    users = sorted(ctx.state.users.values(), key=lambda u: -u.id)
    if ctx.arg("username"):
        users = [u for u in users if u.username.lower() == str(ctx.arg("username")).lower()]
    return ctx.paginate(users, lambda u: user_full(ctx.sim, u))


@route("GET", "/users/:user_id", scopes=("api", "read_api", "read_user"))
def get_user(ctx: Ctx) -> Response:
    user = ctx.state.user(ctx.int_arg("user_id"))
    if user is None:
        raise errors.not_found("User")
    return Response(200, user_full(ctx.sim, user))


@route("GET", "/personal_access_tokens/self", scopes=ALL_SCOPES)
def token_self(ctx: Ctx) -> Response:
    ctx.require_user()
    return Response(200, token_entity(ctx.token, ctx.state.today()))


# -- project access tokens (lib/api/resource_access_tokens.rb) -----------------------------
def _project_tokens(ctx: Ctx, project) -> list[Token]:
    return sorted(
        (t for t in ctx.state.tokens.values() if t.project_id == project.id),
        key=lambda t: t.id,
    )


def _with_level(ctx: Ctx, token: Token, secret: bool = False) -> dict:
    data = token_entity(token, ctx.state.today(), with_secret=secret)
    data["access_level"] = token.access_level
    return data


@route("GET", "/projects/:id/access_tokens")
def list_access_tokens(ctx: Ctx) -> Response:
    project = ctx.project()
    if not ctx.state.can_manage_tokens(ctx.require_user(), project):
        raise errors.unauthorized()
    tokens = _project_tokens(ctx, project)
    wanted = ctx.arg("state")
    if wanted in ("active", "inactive"):
        tokens = [t for t in tokens if t.active(ctx.state.today()) == (wanted == "active")]
    return ctx.paginate(tokens, lambda t: _with_level(ctx, t))


@route("GET", "/projects/:id/access_tokens/:token_id")
def get_access_token(ctx: Ctx) -> Response:
    project = ctx.project()
    if not ctx.state.can_manage_tokens(ctx.require_user(), project):
        raise errors.unauthorized()
    token = _find(ctx, project)
    return Response(200, _with_level(ctx, token))


def _find(ctx: Ctx, project) -> Token:
    token_id = ctx.int_arg("token_id")
    for token in _project_tokens(ctx, project):
        if token.id == token_id:
            return token
    raise errors.not_found("project Access Token")


@route("DELETE", "/projects/:id/access_tokens/:token_id")
def revoke_access_token(ctx: Ctx) -> Response:
    project = ctx.project()
    token = _find(ctx, project)
    user = ctx.require_user()
    bot = ctx.state.users[token.user_id]
    if not ctx.state.can_manage_tokens(user, project):
        raise errors.bad_request(f"{user.name} cannot delete {bot.name}")
    token.revoked = True
    project.members.pop(bot.id, None)
    return Response(204)


@route("POST", "/projects/:id/access_tokens")
def create_access_token(ctx: Ctx) -> Response:
    project = ctx.project()
    user = ctx.require_user()
    name, scopes = ctx.require("name", "scopes")
    scopes = ctx.str_list("scopes") or []
    if not scopes or any(s not in RESOURCE_BOT_SCOPES for s in scopes):
        raise errors.invalid("scopes")
    level = ctx.int_arg("access_level", MAINTAINER)
    if level not in ACCESS_NAMES or level == 0:
        raise errors.invalid("access_level")
    expires_at = _expiry(ctx)
    if (
        user.bot
        or not project.access_tokens_allowed
        or not ctx.state.can_manage_tokens(user, project)
    ):
        raise errors.bad_request("User does not have permission to create project access token")
    if level > ctx.state.access_level(user, project):
        raise errors.bad_request(
            "Access level of the token contains permissions not held by the creating user"
        )
    state = ctx.state
    username = f"project_{project.id}_bot_{secrets.token_hex(16)}"
    bot = User(
        id=state.next_id("user"),
        username=username,
        name=str(name),
        bot=True,
        email=f"{username}@noreply.127.0.0.1",
        created_at=state.now(),
    )
    state.users[bot.id] = bot
    project.members[bot.id] = level
    token = Token(
        id=state.next_id("token"),
        user_id=bot.id,
        name=str(name),
        token=new_token_string(ctx.sim.token_prefix),
        scopes=scopes,
        expires_at=expires_at,
        created_at=state.now(),
        project_id=project.id,
        access_level=level,
        description=str(ctx.arg("description") or ""),
    )
    state.tokens[token.id] = token
    return Response(201, _with_level(ctx, token, secret=True))


def _expiry(ctx: Ctx) -> dt.date:
    raw = ctx.arg("expires_at")
    today = ctx.state.today()
    if raw in (None, ""):
        # require_personal_access_token_expiry (on by default): the longest allowed lifetime
        return today + dt.timedelta(days=MAX_LIFETIME_DAYS)
    try:
        value = dt.date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise errors.ApiError(400, {"error": "expires_at is invalid"}) from None
    if value <= today:
        raise errors.bad_request("Expiration date must be in the future")
    latest = today + dt.timedelta(days=MAX_LIFETIME_DAYS)
    if value > latest:
        raise errors.bad_request(f"Expires at must be before {latest.isoformat()}")
    return value
