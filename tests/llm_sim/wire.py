"""The Messages API wire format: a planned reply as one JSON message or as server-sent events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from .scripts import Reply

JSON_CHUNK = 5  # characters of tool input per input_json_delta (several pieces)
TEXT_CHUNK = 16  # characters of text per text_delta


def new_id(prefix: str) -> str:
    return f"{prefix}_sim{uuid.uuid4().hex[:20]}"


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def finalize(reply: Reply) -> list[dict[str, Any]]:
    """Content blocks with ids given to tool_use blocks."""
    blocks = []
    for block in reply.content:
        block = dict(block)
        if block["type"] == "tool_use":
            block["id"] = new_id("toolu")
        blocks.append(block)
    return blocks


def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def output_tokens(blocks: list[dict[str, Any]]) -> int:
    return estimate_tokens(json.dumps(blocks))


def message(model: str, blocks: list[dict[str, Any]], stop_reason: str, tokens_in: int) -> dict:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage(tokens_in, output_tokens(blocks)),
    }


def events(model: str, blocks: list[dict[str, Any]], stop_reason: str, tokens_in: int) -> Iterator:
    """(event name, data) pairs of a streamed reply, in the order the real API sends them."""
    start = message(model, [], None, tokens_in)
    start["usage"]["output_tokens"] = 1
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            head = {"type": "text", "text": ""}
            kind, key, body, size = "text_delta", "text", block["text"], TEXT_CHUNK
        else:
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            body = json.dumps(block["input"])
            kind, key, size = "input_json_delta", "partial_json", JSON_CHUNK
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": head,
            },
        )
        for piece in _chunks(body, size):
            delta = {"type": kind, key: piece}
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens(blocks)},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def error(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}}
