"""Route table, request context, parameters and GitLab's offset pagination."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlencode

from . import errors
from .models import Project, Token, User

if TYPE_CHECKING:
    from .sim import GitLabSim

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass
class Stream:
    """A body sent as it is produced: with Content-Length when ``length`` is known, else with
    chunked transfer encoding. Nothing of it is held whole in the simulator's memory."""

    chunks: Iterable[bytes]
    length: int | None = None

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, bytes for raw answers, or a Stream
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Route:
    method: str
    regex: re.Pattern
    handler: Callable[[Ctx], Response]
    scopes: tuple[str, ...] | None  # None: GitLab's default (GET: api/read_api, else api)
    template: str


ROUTES: list[Route] = []


def route(method: str, template: str, scopes: tuple[str, ...] | None = None):
    pattern = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", template)
    regex = re.compile(f"^/api/v4{pattern}$")

    def register(fn: Callable[[Ctx], Response]) -> Callable[[Ctx], Response]:
        ROUTES.append(Route(method, regex, fn, scopes, template))
        return fn

    return register


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method``; HEAD falls back to GET's route (Grape answers HEAD for every
    GET) unless the API declares its own HEAD, as the repository files API does."""
    methods = ("HEAD", "GET") if method == "HEAD" else (method,)
    for lookup in methods:
        for candidate in ROUTES:
            if candidate.method != lookup:
                continue
            match = candidate.regex.match(path)
            if match:
                return candidate, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Grape merges query string, form and JSON body parameters."""
    params: dict[str, Any] = {}

    def merge_form(pairs: dict[str, list[str]]) -> None:
        for key, values in pairs.items():
            if key.endswith("[]"):
                params.setdefault(key[:-2], []).extend(values)
            else:
                params[key] = values[-1]

    merge_form(parse_qs(query, keep_blank_values=True))
    if body:
        if "json" in content_type:
            try:
                data = json.loads(body)
            except ValueError:
                raise errors.ApiError(
                    400, {"error": "The provided content-type 'application/json' is not supported."}
                ) from None
            if isinstance(data, dict):
                params.update(data)
        elif "x-www-form-urlencoded" in content_type:
            merge_form(parse_qs(body.decode(errors="replace"), keep_blank_values=True))
    return params


@dataclass
class Ctx:
    sim: GitLabSim
    method: str
    path: str
    query: str
    headers: dict[str, str]
    params: dict[str, Any]
    path_params: dict[str, str]
    user: User | None = None
    token: Token | None = None

    @property
    def state(self):
        return self.sim.state

    # -- parameters -----------------------------------------------------------------------
    def arg(self, name: str, default: Any = None) -> Any:
        return self.path_params.get(name, self.params.get(name, default))

    def require(self, *names: str) -> list[Any]:
        absent = [n for n in names if self.params.get(n) in (None, "")]
        if absent:
            raise errors.missing(*absent)
        return [self.params[n] for n in names]

    def flag(self, name: str, default: bool | None = None) -> bool | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1", "yes", "t")

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise errors.ApiError(400, {"error": f"{name} is invalid"}) from None

    def id_list(self, name: str) -> list[int] | None:
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise errors.ApiError(400, {"error": f"{name} is invalid"}) from None

    def str_list(self, name: str) -> list[str] | None:
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return [str(v).strip() for v in value if str(v).strip()]

    # -- look-ups -------------------------------------------------------------------------
    def require_user(self) -> User:
        if self.user is None:
            raise errors.unauthorized()
        return self.user

    def project(self) -> Project:
        project = self.state.project(self.path_params["id"])
        if project is None or not self.state.can_see(self.user, project):
            raise errors.not_found("Project")
        return project

    def code_project(self) -> Project:
        project = self.project()
        if not self.state.can_read_code(self.user, project):
            raise errors.forbidden()
        return project

    # -- pagination -----------------------------------------------------------------------
    def paginate(self, items: list, render: Callable[[Any], Any] = lambda x: x) -> Response:
        per_page = self.int_arg("per_page", DEFAULT_PER_PAGE) or DEFAULT_PER_PAGE
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        page = max(1, self.int_arg("page", 1) or 1)
        total = len(items)
        total_pages = max(1, math.ceil(total / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(total),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(page + 1) if page < total_pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        links = []
        if page > 1:
            links.append(f'<{self._page_url(page - 1, per_page)}>; rel="prev"')
        if page < total_pages:
            links.append(f'<{self._page_url(page + 1, per_page)}>; rel="next"')
        links.append(f'<{self._page_url(1, per_page)}>; rel="first"')
        links.append(f'<{self._page_url(total_pages, per_page)}>; rel="last"')
        headers["Link"] = ", ".join(links)
        return Response(200, [render(item) for item in chunk], headers)

    def _page_url(self, page: int, per_page: int) -> str:
        pairs = [
            (k, v)
            for k, vs in parse_qs(self.query, keep_blank_values=True).items()
            for v in vs
            if k not in ("page", "per_page")
        ]
        pairs += [("page", str(page)), ("per_page", str(per_page))]
        return f"{self.sim.url}{self.path}?{urlencode(pairs)}"
