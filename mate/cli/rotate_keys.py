"""``mate rotate-keys``: re-encrypt every secret under the newest key of the ring (SPEC §3).

Put the new key first in MATE_ENCRYPTION_KEYS, keep the old ones after it, run this, then drop
the old keys once it reports nothing left to rotate.
"""

from __future__ import annotations

import argparse
from typing import TextIO

help = "re-encrypt every stored secret under the first key of MATE_ENCRYPTION_KEYS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=500)


def run(options: dict, out: TextIO, err: TextIO) -> int:
    from tenants.rotation import rotate_all

    counts = rotate_all(batch_size=options["batch_size"])
    for label, count in sorted(counts.items()):
        out.write(f"{label}: re-encrypted {count} secret(s)\n")
    out.write(f"done: {sum(counts.values())} secret(s) now under the newest key\n")
    return 0
