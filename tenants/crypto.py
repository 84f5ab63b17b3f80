"""AES-256-GCM encryption of secrets at rest (SPEC §3).

A ciphertext is the text ``mate1$<key id>$<base64(nonce || ciphertext+tag)>``. The nonce is 96
random bits. The associated data binds it to ``table.column.row``: a ciphertext copied into
another row, column or table fails to decrypt. Keys come from ``settings.MATE_ENCRYPTION_KEYS``
(first encrypts, all decrypt).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "mate1"


class DecryptionError(Exception):
    """The ciphertext is damaged, bound to another row, or its key is not in the ring.

    The message never contains key material or plaintext.
    """


def _ring() -> list[tuple[str, bytes]]:
    return list(settings.MATE_ENCRYPTION_KEYS)


def current_key_id() -> str:
    return _ring()[0][0]


def binding(table: str, column: str, row: str) -> bytes:
    return f"{table}.{column}.{row}".encode()


def encrypt(plaintext: str, *, table: str, column: str, row: str) -> str:
    key_id, key = _ring()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), binding(table, column, row))
    return f"{PREFIX}${key_id}${base64.b64encode(nonce + sealed).decode()}"


def key_id_of(token: str) -> str:
    parts = token.split("$")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise DecryptionError("not a Mate ciphertext")
    return parts[1]


def decrypt(token: str, *, table: str, column: str, row: str) -> str:
    key_id = key_id_of(token)
    keys = dict(_ring())
    if key_id not in keys:
        raise DecryptionError(
            f"ciphertext of {table}.{column} uses key id {key_id!r}, which is not in "
            "MATE_ENCRYPTION_KEYS; add the old key back to the ring"
        )
    try:
        blob = base64.b64decode(token.split("$")[2], validate=True)
        plain = AESGCM(keys[key_id]).decrypt(blob[:12], blob[12:], binding(table, column, row))
    except (InvalidTag, ValueError):
        raise DecryptionError(
            f"ciphertext of {table}.{column} does not belong to this row or is damaged"
        ) from None
    return plain.decode()
