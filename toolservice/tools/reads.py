"""Reads from GitLab bounded in memory, not only in what they return (SPEC §7.3, T45).

A tool call runs in a web worker: whatever GitLab sends is streamed, and a tool keeps only what
it may return. ``read_at_most`` refuses a body once it passes its cap, ``Tail`` keeps the last
bytes of a stream, and ``Pages`` walks a listing with a cap on pages as well as on items.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from toolservice.registry import ToolContext

CHUNK_BYTES = 65_536


class TooLarge(Exception):
    """The body passed its cap while it was read (the rest was never downloaded)."""


def stream(ctx: ToolContext, path: str, query: dict[str, Any] | None = None) -> Iterator[bytes]:
    """GET ``path`` (relative to the API) and yield its body in chunks; the connection is
    closed however the caller stops reading."""
    response = ctx.gl.http_get(path, query_data=query or {}, streamed=True, raw=True)
    try:
        yield from response.iter_content(chunk_size=CHUNK_BYTES)
    finally:
        response.close()


def read_at_most(chunks: Iterator[bytes], limit: int) -> bytes:
    """The whole body if it has at most ``limit`` bytes; TooLarge as soon as it has more."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            raise TooLarge(size)
        parts.append(chunk)
    return b"".join(parts)


class Tail:
    """The last ``keep`` bytes of a stream (a bounded deque of chunks) and the number of
    lines the whole stream had."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.parts: deque[bytes] = deque()
        self.size = 0
        self.newlines = 0
        self.total = 0
        self.ends_with_newline = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total += len(chunk)
        self.newlines += chunk.count(b"\n")
        self.ends_with_newline = chunk.endswith(b"\n")
        chunk = chunk[-self.keep :]
        self.parts.append(chunk)
        self.size += len(chunk)
        while self.size - len(self.parts[0]) >= self.keep:
            self.size -= len(self.parts.popleft())

    @property
    def lines(self) -> int:
        """Lines of the whole stream, the last one counted even without its newline."""
        return self.newlines + (0 if self.ends_with_newline or not self.total else 1)

    @property
    def cut(self) -> bool:
        return self.total > self.keep

    def text(self) -> str:
        data = b"".join(self.parts)[-self.keep :]
        return data.decode("utf-8", errors="replace")


class Pages:
    """The pages of a listing, one request each and never more than ``max_pages`` of them; the
    walk ends at the first short page, or when the caller stops asking (at its own cap).
    ``capped`` tells afterwards that the page cap ended it: the listing may have more."""

    def __init__(
        self, fetch: Callable[[int, int], list[Any]], *, per_page: int, max_pages: int
    ) -> None:
        self.fetch, self.per_page, self.max_pages = fetch, per_page, max_pages
        self.capped = False

    def __iter__(self) -> Iterator[list[Any]]:
        for page in range(1, self.max_pages + 1):
            items = self.fetch(page, self.per_page)
            yield items
            if len(items) < self.per_page:
                return
        self.capped = True
