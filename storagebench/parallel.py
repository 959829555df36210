"""Process-parallel map with a progress bar, over forked workers that inherit the parent's arrays.

Forking (rather than spawning) lets workers read large in-memory arrays without pickling them. The parent must
not have run torch kernels before forking: an initialised OpenMP pool does not survive ``fork``.
"""
from __future__ import annotations

import multiprocessing
import os
from typing import Callable, Iterable, Iterator, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parallel_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int, desc: str, total: int,
                 unit: str = "it", weight: Callable[[T], int] = lambda _: 1, ordered: bool = True) -> Iterator[R]:
    """Yield ``fn(item)`` (in input order unless ``ordered=False``: then as each finishes); the bar advances by
    ``weight(item)`` per finished item (by 1 when unordered)."""
    items = list(items)
    with tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, dynamic_ncols=True) as bar:
        if workers <= 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
                bar.update(weight(item))
            return
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(workers, len(items))) as pool:
            if not ordered:
                for result in pool.imap_unordered(fn, items):
                    yield result
                    bar.update(1)
                return
            for item, result in zip(items, pool.imap(fn, items)):
                yield result
                bar.update(weight(item))
