"""What a result needs to be reproduced: library versions, the git commit, the machine."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TRACKED_DISTRIBUTIONS = ("storagebench", "numpy", "scipy", "torch", "torchvision", "imagecodecs", "compressai")


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@functools.cache
def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_DISTRIBUTIONS:
        found = _dist_version(name)
        if found:
            versions[name] = found
    return versions


@functools.cache
def git_commit() -> str:
    """The checkout's commit, with ``+dirty`` when tracked files differ; ``unknown`` outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> dict[str, object]:
    return {"platform": platform.platform(), "processor": platform.machine(), "cpu_count": os.cpu_count()}


def stable_hash(obj: object) -> str:
    """sha256 of the canonical JSON of ``obj``: the same config always hashes the same."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
