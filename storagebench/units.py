"""Byte counts as people write them: ``500k``, ``2.5M``."""
from __future__ import annotations

import re

from storagebench.errors import StorageBenchError

SUFFIXES = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_budget(text: str) -> float:
    """'2.5M' → 2.5e6 bytes (decimal suffixes k, M, G, T; plain numbers are bytes)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)b?\s*", str(text).lower())
    if not match or float(match.group(1)) <= 0:
        raise StorageBenchError(f"budget {text!r} is not a positive byte count (e.g. 500000, 500k, 2.5M)")
    return float(match.group(1)) * SUFFIXES[match.group(2)]


def format_bytes(count: float) -> str:
    """1540000 → '1.54 MB', 250000 → '250 kB', 420 → '420 B' (decimal units, 3 significant digits)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(count) >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count:.0f} B"


def format_seconds(seconds: float) -> str:
    """42 → '42 s', 754 → '12.6 min', 11000 → '3.1 h'."""
    if seconds < 100:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 6000 else f"{seconds / 3600:.1f} h"


def count(number: int, noun: str) -> str:
    """'1 seed', '3 seeds', '1,200 images'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
