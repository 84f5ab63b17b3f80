"""Write-only secret columns for models (SPEC §3).

A model lists its secrets in ``SECRET_FIELDS`` and declares, for each NAME, the columns
``NAME_ciphertext`` (text, empty when unset) and ``NAME_set_at``. Values are bound to the row's ``uid`` (a UUID
assigned at construction, so it is known before the first save). Reading is explicit and
internal: ``instance.reveal_secret(NAME)``; no interface renders the value.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from tenants import crypto


class SecretsMixin:
    SECRET_FIELDS: tuple[str, ...] = ()

    def _binding(self, name: str) -> dict[str, str]:
        return {"table": self._meta.db_table, "column": name, "row": str(self.uid)}  # type: ignore[attr-defined]

    def set_secret(self, name: str, value: str | None) -> None:
        """Store ``value`` encrypted (or clear it with None/""); the caller saves the row."""
        if name not in self.SECRET_FIELDS:
            raise AttributeError(f"{type(self).__name__} has no secret {name!r}")
        if value:
            setattr(self, f"{name}_ciphertext", crypto.encrypt(value, **self._binding(name)))
            setattr(self, f"{name}_set_at", timezone.now())
        else:
            setattr(self, f"{name}_ciphertext", "")
            setattr(self, f"{name}_set_at", None)

    def has_secret(self, name: str) -> bool:
        return bool(getattr(self, f"{name}_ciphertext"))

    def reveal_secret(self, name: str) -> str:
        """Decrypt for server-side use only (GitLab calls, webhook checks, job env)."""
        token = getattr(self, f"{name}_ciphertext")
        if not token:
            return ""
        return crypto.decrypt(token, **self._binding(name))

    def stale_secrets(self) -> Iterator[str]:
        """Names whose ciphertext is not under the current key (for rotation)."""
        current = crypto.current_key_id()
        for name in self.SECRET_FIELDS:
            token = getattr(self, f"{name}_ciphertext")
            if token and crypto.key_id_of(token) != current:
                yield name
