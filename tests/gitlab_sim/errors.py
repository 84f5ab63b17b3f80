"""GitLab's error answers, word for word (lib/api/helpers.rb, api_guard.rb, Grape)."""

from __future__ import annotations

INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."
REVOKED = "Token was revoked. You have to re-authorize from the user."
EXPIRED = "Token is expired. You can either do re-authorization or token refresh."


class ApiError(Exception):
    def __init__(self, status: int, body: dict | list, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(what: str | None = None) -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not found"})


def route_not_found() -> ApiError:
    return ApiError(404, {"error": "404 Not Found"})


def unauthorized() -> ApiError:
    return ApiError(401, {"message": "401 Unauthorized"})


def forbidden(reason: str | None = None) -> ApiError:
    return ApiError(403, {"message": "403 Forbidden" + (f" - {reason}" if reason else "")})


def bad_request(reason: str) -> ApiError:
    return ApiError(400, {"message": f"400 Bad request - {reason}"})


def render_error(message, status: int) -> ApiError:
    return ApiError(status, {"message": message})


def missing(*names: str) -> ApiError:
    return ApiError(400, {"error": ", ".join(f"{n} is missing" for n in names)})


def invalid(name: str) -> ApiError:
    return ApiError(400, {"error": f"{name} does not have a valid value"})


def not_allowed() -> ApiError:
    return ApiError(405, {"message": "405 Method Not Allowed"})


def oauth_error(status: int, error: str, description: str, scope: str | None = None) -> ApiError:
    """rack-oauth2's Bearer Unauthorized/Forbidden answers."""
    body = {"error": error, "error_description": description}
    header = (
        f'Bearer realm="Protected by OAuth 2.0", error="{error}", error_description="{description}"'
    )
    if scope is not None:
        body["scope"] = scope
        header += f', scope="{scope}"'
    return ApiError(status, body, {"WWW-Authenticate": header})


def insufficient_scope(scopes: list[str]) -> ApiError:
    return oauth_error(403, "insufficient_scope", INSUFFICIENT_SCOPE, " ".join(scopes))
