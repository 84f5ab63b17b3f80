"""Defensive readers for untrusted webhook JSON.

A value of the wrong type reads as absent: nothing here raises on any JSON-shaped input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

JsonObject = dict[str, object]


def as_object(value: object) -> JsonObject | None:
    """`value` when it is a JSON object (dict), else None."""
    return value if isinstance(value, dict) else None


def obj_at(obj: JsonObject | None, key: str) -> JsonObject | None:
    """The object under `key`, or None when absent or not an object."""
    return as_object(obj.get(key)) if obj is not None else None


def str_at(obj: JsonObject | None, key: str) -> str | None:
    """The string under `key`, or None."""
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, str) else None


def int_at(obj: JsonObject | None, key: str) -> int | None:
    """The integer under `key` (booleans are not integers here), or None."""
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def bool_at(obj: JsonObject | None, key: str) -> bool | None:
    """The boolean under `key`, or None."""
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, bool) else None


def list_at(obj: JsonObject | None, key: str) -> list[object] | None:
    """The list under `key`, or None when absent or not a list."""
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, list) else None


def objects_in(items: list[object] | None) -> list[JsonObject]:
    """The objects among `items` (other elements are skipped); [] for None."""
    return [item for item in items or [] if isinstance(item, dict)]


def label_titles(items: list[object] | None) -> tuple[str, ...] | None:
    """Titles of a list of label objects, in order without repeats; None when not a list."""
    if items is None:
        return None
    titles = (str_at(label, "title") for label in objects_in(items))
    return tuple(dict.fromkeys(title for title in titles if title is not None))


def is_int(value: object) -> bool:
    """True for a JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Person:
    """A GitLab user as a payload shows it: id and/or username (at least one is known)."""

    user_id: int | None
    username: str | None

    def is_user(self, user_id: int, username: str) -> bool:
        """Whether this is that user: by id when the payload gives one, else by username."""
        if self.user_id is not None:
            return self.user_id == user_id
        return self.username == username


def person(obj: JsonObject) -> Person | None:
    """The user described by a user object (`id`, `username`), or None if it names nobody."""
    user_id, username = int_at(obj, "id"), str_at(obj, "username")
    if user_id is None and username is None:
        return None
    return Person(user_id, username)


def people(items: list[object] | None) -> tuple[Person, ...]:
    """The users of a list of user objects, skipping entries that name nobody."""
    found = (person(item) for item in objects_in(items))
    return tuple(p for p in found if p is not None)


def username_index(groups: Iterable[Iterable[Person]]) -> dict[int, str]:
    """Map user id to username from every person that shows both (first sighting wins)."""
    index: dict[int, str] = {}
    for group in groups:
        for p in group:
            if p.user_id is not None and p.username is not None:
                index.setdefault(p.user_id, p.username)
    return index


def assignee_ids(obj: JsonObject | None) -> list[int] | None:
    """`assignee_ids` of an issue/MR object, else its deprecated `assignee_id`, else None."""
    ids = list_at(obj, "assignee_ids")
    if ids is not None:
        return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    single = int_at(obj, "assignee_id")
    return [single] if single is not None else None


def current_assignees(
    obj: JsonObject | None, lists: Iterable[tuple[Person, ...]], index: dict[int, str]
) -> tuple[Person, ...]:
    """The assignees after the change: ids from `obj` named through `index`, plus `lists`.

    The object's `assignee_ids` are authoritative when present; user objects that carry no id
    (older issue payloads) are added by username so a bot can still be recognised.
    """
    listed = [p for group in lists for p in group]
    ids = assignee_ids(obj)
    if ids is None:
        found = listed
    else:
        found = [Person(i, index.get(i)) for i in ids]
        found += [p for p in listed if p.user_id is None]
    unique: dict[tuple[int | None, str | None], Person] = {}
    seen_names: set[str] = set()
    for p in found:
        key = (p.user_id, None) if p.user_id is not None else (None, p.username)
        if key in unique or (p.user_id is None and p.username in seen_names):
            continue
        unique[key] = p
        if p.username is not None:
            seen_names.add(p.username)
    return tuple(unique.values())
