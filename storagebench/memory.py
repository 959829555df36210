"""How much memory decoded images may take: what decides whether a set is held in memory or read on access."""
from __future__ import annotations

import os


def default_memory_bytes() -> int:
    """Half the memory this machine has available now: the rest is for the models, the loaders and the system."""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")) // 2
