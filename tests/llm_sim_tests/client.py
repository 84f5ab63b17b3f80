"""Plain urllib client that talks to the stand-in the way claude-code does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

KEY = "test-key"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    json: Any = None  # non-streamed body
    events: list[tuple[str, dict]] = field(default_factory=list)  # streamed (name, data)

    def names(self) -> list[str]:
        return [name for name, _ in self.events if name != "ping"]

    def tool_input_text(self, index: int) -> str:
        return "".join(
            data["delta"]["partial_json"]
            for name, data in self.events
            if name == "content_block_delta"
            and data["index"] == index
            and data["delta"]["type"] == "input_json_delta"
        )


def request(url: str, method: str = "GET", body: Any = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        return urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc


def messages(base: str, body: dict, key: str | None = KEY, auth: str = "x-api-key") -> Answer:
    """POST /v1/messages?beta=true; reads server-sent events line by line when streamed."""
    headers = {"anthropic-version": "2023-06-01"}
    if key is not None:
        headers[auth] = key if auth == "x-api-key" else f"Bearer {key}"
    response = request(f"{base}/v1/messages?beta=true", "POST", body, headers)
    answer = Answer(response.status, {k.lower(): v for k, v in response.headers.items()})
    if not answer.headers.get("content-type", "").startswith("text/event-stream"):
        answer.json = json.loads(response.read())
        return answer
    name = None
    for raw in response:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            answer.events.append((name, json.loads(line[len("data: ") :])))
        elif line == "":
            name = None
    return answer


def user(text: str) -> dict:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def tool_turn(tool_use_id: str, name: str, tool_input: dict, result: Any, is_error=False) -> list:
    """The assistant's tool_use and the user's tool_result, as claude-code sends them back."""
    text = result if isinstance(result, str) else json.dumps(result)
    block = {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": [{"type": "text", "text": text}],
    }
    if is_error:
        block["is_error"] = True
    use = {"type": "tool_use", "id": tool_use_id, "name": name, "input": tool_input}
    return [{"role": "assistant", "content": [use]}, {"role": "user", "content": [block]}]
