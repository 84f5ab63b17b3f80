"""Tool groups (SPEC §7.4), one module each; they register themselves in toolservice.registry.

Helpers here shape GitLab's answers into small, stable dicts: the agent gets what it needs to
work, not GitLab's full entities (which carry internal URLs and avatars).
"""

from __future__ import annotations

from typing import Any

IID = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
GLOBAL_ID = {"type": "integer", "minimum": 1, "maximum": 9_007_199_254_740_991}
REF = {"type": "string", "minLength": 1, "maxLength": 255}
BRANCH = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\s~^:?*\[\\]+$"}
MAX_NOTE_BODY_RETURNED = 20_000


def schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object schema that refuses unknown arguments."""
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        result["required"] = list(required)
    return result


def with_description(base: dict[str, Any], text: str) -> dict[str, Any]:
    return {**base, "description": text}


def username(user: Any) -> str | None:
    return user.get("username") if isinstance(user, dict) else None


def pick(attrs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: attrs.get(key) for key in keys}


def cut(text: str | None, limit: int) -> tuple[str, bool]:
    text = text or ""
    return (text[:limit], True) if len(text) > limit else (text, False)


def note_dict(attrs: dict[str, Any]) -> dict[str, Any]:
    body, truncated = cut(attrs.get("body"), MAX_NOTE_BODY_RETURNED)
    return {
        "id": attrs.get("id"),
        "author": username(attrs.get("author")),
        "body": body,
        "body_truncated": truncated,
        "system": attrs.get("system", False),
        "internal": attrs.get("internal", attrs.get("confidential", False)),
        "created_at": attrs.get("created_at"),
    }
