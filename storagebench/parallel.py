"""Parallel map with a progress bar: ``fn(job, item)`` for every item, on the active executor.

``job`` is what every call shares (the plan, decoded arrays, a codec); ``item`` is one call's own small part.
The default executor forks local workers, which inherit ``job`` without pickling it. The parent must not have run
torch kernels before forking: an initialised OpenMP pool does not survive ``fork``. ``using(executor)`` swaps in
another executor (``storagebench.ray_executor.RayExecutor``) for everything run inside it, encodes included.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")
Work = Callable[[Any, T], R]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Executor(Protocol):
    name: str

    def map(self, fn: Work, job: Any, items: list, *, workers: int, ordered: bool, gpu: bool) -> Iterator:
        """``fn(job, item)`` per item: in input order, or as each finishes when not ``ordered``."""

    def describe(self) -> dict[str, Any]:
        """What results record about where they were computed."""


_forked: tuple[Work, Any] | None = None  # (fn, job) that forked workers inherit


def _call_forked(item: Any) -> Any:
    fn, job = _forked  # type: ignore[misc]
    return fn(job, item)


class LocalExecutor:
    """Forked processes on this machine, ``workers`` at a time (in-process when 1)."""

    name = "local"

    def map(self, fn: Work, job: Any, items: list, *, workers: int, ordered: bool, gpu: bool) -> Iterator:
        global _forked
        if workers <= 1 or len(items) <= 1:
            yield from (fn(job, item) for item in items)
            return
        _forked = (fn, job)
        try:
            with multiprocessing.get_context("fork").Pool(min(workers, len(items))) as pool:
                yield from (pool.imap if ordered else pool.imap_unordered)(_call_forked, items)
        finally:
            _forked = None

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name}


_active: Executor = LocalExecutor()


def active_executor() -> Executor:
    return _active


@contextlib.contextmanager
def using(executor: Executor) -> Iterator[Executor]:
    """Run every ``parallel_map`` inside the block on ``executor``."""
    global _active
    previous, _active = _active, executor
    try:
        yield executor
    finally:
        _active = previous


def parallel_map(fn: Work, job: Any, items: Iterable[T], *, workers: int, desc: str, total: int, unit: str = "it",
                 weight: Callable[[T], int] = lambda _: 1, ordered: bool = True, gpu: bool = False) -> Iterator[R]:
    """Yield ``fn(job, item)`` per item (in input order unless ``ordered=False``: then as each finishes); the bar
    advances by ``weight(item)`` per finished item in order (by 1 when unordered). ``gpu`` says the work can use
    an accelerator (an executor may then request one for it)."""
    items = list(items)
    results = _active.map(fn, job, items, workers=workers, ordered=ordered, gpu=gpu)
    with tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, dynamic_ncols=True) as bar:
        for item, result in zip(items, results) if ordered else ((None, r) for r in results):
            yield result
            bar.update(weight(item) if ordered else 1)
