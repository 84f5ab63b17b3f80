"""Strict JSON in, storable text out: shared by every endpoint that stores what it is sent.

``loads_strict`` accepts RFC 8259 JSON only (no NaN or Infinity, finite numbers, bounded
nesting); ``storable`` replaces what PostgreSQL's jsonb and text columns refuse (NUL and
unpaired UTF-16 surrogates) with U+FFFD.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: no database can store it
        raise ValueError("number out of range")
    return value


def loads_strict(raw: str | bytes) -> Any:
    """Parse JSON; ValueError (never RecursionError) for anything that is not strict JSON."""
    try:
        return json.loads(raw, parse_constant=_no_constants, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None
