"""Loading the encryption key ring (SPEC §3) from the environment or the dev key file.

The ring is an ordered list of ``(key_id, 32-byte key)``; the first entry encrypts, all decrypt.
The encryption itself lives in ``tenants.crypto``; this module only parses and provisions keys,
because settings must be able to refuse a bad ring before anything else starts.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import sys
from pathlib import Path

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(ValueError):
    """A key ring that cannot be used; the message names the entry and the fix."""


def parse_keyring(text: str) -> list[tuple[str, bytes]]:
    """Parse ``id:base64key[,id:base64key...]`` (commas or whitespace separate entries)."""
    entries = [e for e in re.split(r"[\s,]+", text.strip()) if e]
    if not entries:
        raise KeyRingError(
            "MATE_ENCRYPTION_KEYS is empty; set it to 'ID:BASE64KEY' with a 32-byte key "
            '(generate one with: python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())")'
        )
    ring: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        key_id, sep, b64 = entry.partition(":")
        if not sep or not KEY_ID_RE.match(key_id):
            raise KeyRingError(
                f"MATE_ENCRYPTION_KEYS entry {position} is not 'ID:BASE64KEY' with an ID of "
                "1-32 letters, digits, '_' or '-'"
            )
        if key_id in seen:
            raise KeyRingError(
                f"MATE_ENCRYPTION_KEYS has key id {key_id!r} twice; ids must be unique"
            )
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise KeyRingError(
                f"MATE_ENCRYPTION_KEYS key {key_id!r} is not valid base64; paste the key exactly"
            ) from None
        if len(key) != 32:
            raise KeyRingError(
                f"MATE_ENCRYPTION_KEYS key {key_id!r} decodes to {len(key)} bytes; "
                "AES-256 needs exactly 32"
            )
        seen.add(key_id)
        ring.append((key_id, key))
    return ring


def format_entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


def dev_keyring(path: Path) -> list[tuple[str, bytes]]:
    """Read the development key file, creating it (0600) with a fresh key if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = format_entry("dev1", secrets.token_bytes(32))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(entry + "\n")
        print(
            "\n" + "!" * 78 + "\n"
            f"WARNING: MATE_ENCRYPTION_KEYS is not set. Generated a development key ring at\n"
            f"  {path}\n"
            "Secrets in this database are only as safe as that file. Production refuses to\n"
            "start without MATE_ENCRYPTION_KEYS.\n" + "!" * 78 + "\n",
            file=sys.stderr,
        )
    return parse_keyring(path.read_text())
