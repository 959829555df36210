"""One line of progress or warning on stderr, prefixed so it reads as storagebench's in a mixed log."""
from __future__ import annotations

import sys


def say(message: str) -> None:
    print(f"storagebench: {message}", file=sys.stderr, flush=True)
