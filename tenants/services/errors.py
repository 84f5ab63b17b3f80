"""Errors the tenant services raise for the console to show next to a field."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting was refused; ``field`` names it and the message says how to fix it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
