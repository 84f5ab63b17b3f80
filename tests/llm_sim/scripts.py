"""Scripts: what the stand-in answers, turn by turn.

A script is a list of steps. A step is one of:

- ``"some text"`` or ``{"text": "some text"}``: a text reply, ``stop_reason: end_turn``;
- ``{"tool": "mcp__mate__get_issue", "input": {...}}``: one ``tool_use`` block,
  ``stop_reason: tool_use`` (an optional ``"text"`` is sent as a text block before it).

The reply is stateless: the step to answer with is the number of ``tool_result`` blocks in the
request's ``messages`` (every tool call, failed or not, moves the script on by one step), so a
retried request gets the same answer. Past the last step the answer is the text ``"Done."``.

Tool inputs may use earlier tool results (each result's text parsed as JSON; a result that is
not JSON is kept as a string, a failed one as ``{"is_error": true, "text": ...}``):

- a string that is exactly ``"$ROOT.path"`` becomes the value there (any JSON type); when nothing
  is there the key is left out of the input (so the tool falls back to its default);
- ``"${ROOT.path}"`` inside a longer string is replaced by the value as text (``""`` if none).

``ROOT`` is ``context`` (the first tool result: ``get_job_context``), ``last`` (the latest
result) or ``results`` (all of them: ``$results.1.title``). A path is dot-separated keys or list
indices; ``..key`` finds the nearest ``key`` at any depth (breadth-first), for results whose
exact shape does not matter: ``${last..title}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

FINAL_TEXT = "Done."

SCRIPTS: dict[str, list[Any]] = {
    "hello": ["Hello from the stand-in."],
    "note": [
        {"tool": "mcp__mate__get_job_context", "input": {}},
        {"tool": "mcp__mate__get_issue", "input": {"iid": "$context.object.iid"}},
        {
            "tool": "mcp__mate__create_issue_note",
            "input": {"iid": "$context.object.iid", "body": "Mate looked at: ${last..title}"},
        },
        "Done.",
    ],
    "forbidden": [
        {"tool": "mcp__mate__get_job_context", "input": {}},
        {
            "tool": "mcp__mate__create_branch",
            "input": {"branch": "mate/forbidden-probe", "ref": "main"},
        },
        {"tool": "mcp__mate__approve_merge_request", "input": {"iid": "$context.object.iid"}},
        "I tried to create a branch and approve a merge request; both were refused.",
    ],
}

_MISSING = object()
_WHOLE = re.compile(r"^\$(context|last|results)((?:\.\.?[\w-]+)*)$")
_INLINE = re.compile(r"\$\{(context|last|results)((?:\.\.?[\w-]+)*)\}")
_SEGMENT = re.compile(r"(\.\.?)([\w-]+)")


@dataclass
class Reply:
    """What to answer: content blocks (Messages API shape) and the stop reason."""

    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    step: int = 0


def resolve_script(script: str | list[Any]) -> list[Any]:
    if isinstance(script, str):
        try:
            return SCRIPTS[script]
        except KeyError:
            raise ValueError(f"unknown script {script!r}; built-in: {sorted(SCRIPTS)}") from None
    return list(script)


def tool_results(messages: list[dict[str, Any]]) -> list[Any]:
    """Every tool_result in the conversation, in order, parsed (see the module docstring)."""
    found = []
    for message in messages or []:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                found.append(_parse_result(block))
    return found


def _parse_result(block: dict[str, Any]) -> Any:
    content = block.get("content")
    if isinstance(content, list):
        text = "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    else:
        text = content if isinstance(content, str) else ""
    if block.get("is_error"):
        return {"is_error": True, "text": text}
    try:
        return json.loads(text)
    except ValueError:
        return text


def plan_reply(script: str | list[Any], messages: list[dict[str, Any]]) -> Reply:
    steps = resolve_script(script)
    results = tool_results(messages)
    index = len(results)
    step = steps[index] if index < len(steps) else FINAL_TEXT
    if isinstance(step, str):
        step = {"text": step}
    reply = Reply(step=index)
    if step.get("text"):
        reply.content.append({"type": "text", "text": step["text"]})
    if step.get("tool"):
        roots = {"context": results[0] if results else _MISSING, "results": results}
        roots["last"] = results[-1] if results else _MISSING
        tool_input = _fill(step.get("input") or {}, roots)
        reply.content.append({"type": "tool_use", "name": step["tool"], "input": tool_input})
        reply.stop_reason = "tool_use"
    return reply


def _fill(value: Any, roots: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        filled = {key: _fill(item, roots) for key, item in value.items()}
        return {key: item for key, item in filled.items() if item is not _MISSING}
    if isinstance(value, list):
        return [item for item in (_fill(v, roots) for v in value) if item is not _MISSING]
    if not isinstance(value, str):
        return value
    whole = _WHOLE.match(value)
    if whole:
        return _lookup(roots[whole.group(1)], whole.group(2))
    return _INLINE.sub(lambda m: _as_text(_lookup(roots[m.group(1)], m.group(2))), value)


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _lookup(value: Any, path: str) -> Any:
    for dots, key in _SEGMENT.findall(path):
        value = _find(value, key) if dots == ".." else _child(value, key)
        if value is _MISSING:
            break
    return value


def _child(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key, _MISSING)
    if isinstance(value, list) and key.isdigit() and int(key) < len(value):
        return value[int(key)]
    return _MISSING


def _find(value: Any, key: str) -> Any:
    queue = [value]
    while queue:
        current = queue.pop(0)
        if isinstance(current, dict):
            if key in current:
                return current[key]
            queue.extend(current.values())
        elif isinstance(current, list):
            queue.extend(current)
    return _MISSING
