"""Token authentication and scope checks, for the REST API and for git over HTTP."""

from __future__ import annotations

import base64
import binascii

from . import errors
from .models import API_READ_SCOPES, API_WRITE_SCOPES, Token, User
from .store import State


def api_token_string(headers: dict[str, str], params: dict) -> str | None:
    """PRIVATE-TOKEN header, ``Authorization: Bearer`` or ``private_token`` parameter."""
    token = headers.get("private-token")
    if token:
        return token.strip()
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    value = params.get("private_token") or params.get("access_token")
    return str(value) if value else None


def allowed_scopes(method: str, route_scopes: tuple[str, ...] | None) -> set[str]:
    if route_scopes is not None:
        return set(route_scopes)
    return set(API_READ_SCOPES) if method in ("GET", "HEAD") else set(API_WRITE_SCOPES)


def authenticate_api(
    state: State, secret: str | None, method: str, route_scopes: tuple[str, ...] | None
) -> tuple[User | None, Token | None]:
    """Find the caller as GitLab's API guard does; raise ApiError with GitLab's answer."""
    if not secret:
        return None, None
    token = state.token(secret)
    if token is None:
        raise errors.unauthorized()
    if token.revoked:
        raise errors.oauth_error(401, "invalid_token", errors.REVOKED)
    if token.expired(state.today()):
        raise errors.oauth_error(401, "invalid_token", errors.EXPIRED)
    scopes = allowed_scopes(method, route_scopes)
    if not scopes & set(token.scopes):
        ordered = [s for s in ("api", "read_api", "read_user") if s in scopes] or sorted(scopes)
        raise errors.insufficient_scope(ordered)
    user = state.users[token.user_id]
    if user.state == "blocked":
        raise errors.forbidden("Your account has been blocked.")
    if user.state == "deactivated":
        raise errors.forbidden(
            "Your account has been deactivated by your administrator. Please log back in "
            "from a web browser to reactivate your account"
        )
    token.last_used_at = state.now()
    return user, token


def basic_auth(headers: dict[str, str]) -> tuple[str, str] | None:
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(auth[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, password = decoded.partition(":")
    return username, password


def git_token(state: State, headers: dict[str, str]) -> tuple[Token | None, bool]:
    """(live token, credentials were offered). Any username is accepted with a token."""
    creds = basic_auth(headers)
    if creds is None:
        return None, False
    token = state.token(creds[1])
    if token is None or not token.active(state.today()):
        return None, True
    user = state.users[token.user_id]
    if user.state != "active":
        return None, True
    token.last_used_at = state.now()
    return token, True
