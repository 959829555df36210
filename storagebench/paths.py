"""Where storagebench keeps what it can rebuild: ``$STORAGEBENCH_CACHE`` or ``~/.cache/storagebench``."""
from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    base = os.environ.get("STORAGEBENCH_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "storagebench"
    return Path(base).expanduser()
