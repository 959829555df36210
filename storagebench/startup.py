"""What a storagebench process sets up for itself when it starts as a command (``storagebench``, ``python -m``), never
on import: a library user's process keeps its own settings."""
from __future__ import annotations

import os


def prepare_process() -> None:
    """Figures are files (no display needed); glibc keeps codec buffers (see ``storagebench.malloc``)."""
    from storagebench.malloc import tune_malloc

    os.environ.setdefault("MPLBACKEND", "Agg")
    tune_malloc()
