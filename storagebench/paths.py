"""Where storagebench keeps what it can rebuild: ``$STORAGEBENCH_CACHE`` or ``~/.cache/storagebench``."""
from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    base = os.environ.get("STORAGEBENCH_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "storagebench"
    return Path(base).expanduser()


MAX_NAME = 100


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a folder of its own under a parent (None if it can): one plain path component."""
    if not name or len(name) > MAX_NAME:
        return f"must be 1 to {MAX_NAME} characters"
    if any(c in name for c in "/\\\0") or name.startswith(".") or any(ord(c) < 32 for c in name):
        return "must be a plain name: no '/', '\\' or control characters, not starting with '.'"
    return None


def child_path(parent: Path, name: str, where: str) -> Path:
    """``parent/name``, refusing a name that would land anywhere else (``../x``, an absolute path, …)."""
    from storagebench.errors import StorageBenchError

    problem = name_problem(name)
    if problem:
        raise StorageBenchError(f"{where} {name!r}: {problem}")
    return Path(parent) / name


def inside(root: Path, relative: str, where: str) -> Path:
    """``root/relative`` resolved, refusing a path from data that leaves ``root`` (``../``, absolute, a symlink out)."""
    from storagebench.errors import StorageBenchError

    base = Path(root).resolve()
    path = (base / relative).resolve() if isinstance(relative, str) and relative and "\0" not in relative else None
    if path is None or not path.is_relative_to(base):
        raise StorageBenchError(f"{where}: {relative!r} leaves the dataset root {base}; paths in data must stay "
                                f"inside it")
    return path
