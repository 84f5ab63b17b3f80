"""Re-encrypting secrets under the newest key (``mate rotate-keys``)."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction

from tenants.secrets import SecretsMixin


def secret_models() -> list[type]:
    return [m for m in apps.get_models() if issubclass(m, SecretsMixin)]


def rotate_all(*, batch_size: int = 500) -> dict[str, int]:
    """Re-encrypt stale secrets of every model with secrets; returns counts per model label."""
    counts: dict[str, int] = {}
    for model in secret_models():
        rotated = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")[:batch_size]
                )
                for row in rows:
                    stale = list(row.stale_secrets())
                    for name in stale:
                        row.set_secret(name, row.reveal_secret(name))
                    if stale:
                        # Only the ciphertext is saved: *_set_at keeps when the operator set it.
                        row.save(update_fields=[f"{name}_ciphertext" for name in stale])
                        rotated += len(stale)
            if len(rows) < batch_size:
                break
            last_pk = rows[-1].pk
        counts[model._meta.label] = rotated
    return counts
