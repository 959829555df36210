"""One line of progress or warning on stderr, prefixed so it reads as storagebench's in a mixed log."""
from __future__ import annotations

import sys


VERBOSITY = {"level": 0}  # -1: quiet (-q: errors and results only), 0: default, 1: verbose (-v)


def set_verbosity(level: int) -> None:
    VERBOSITY["level"] = level


def verbose() -> bool:
    return VERBOSITY["level"] > 0


def say(message: str) -> None:
    if VERBOSITY["level"] >= 0:
        print(f"storagebench: {message}", file=sys.stderr, flush=True)
