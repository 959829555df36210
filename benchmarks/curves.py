"""Storage curves: for each byte budget s, build real training sets by several schemes and train on them.

Schemes, each a cell per (scheme, s, seed), all drawn from the seed's nested class-stratified order:
- ``original``: lossless images, as many as fit in s;
- ``optimal``: n*(s) from the fitted law, then one common distance, binary-searched so the real total size of the
  n* images is as large as possible without exceeding s;
- ``naive-d<D>``: a fixed distance D, as many images as fit in s;
- ``randomized``: n*(s) images with per-image distances spread evenly over [d_min, d_max] in a random order, d_min
  (too large) or d_max (room left) moved by binary search until the real total is just within s.
Every size is the sum of real encoded bitstreams from the store; every probe of a search is a cached store entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from storagebench.benchmarks.allocation import optimal_n
from storagebench.benchmarks.fit import ScalingLaw
from storagebench.benchmarks.runner import Plan
from storagebench.benchmarks.store import CompressedSetStore, StoredSet, describe_level
from storagebench.compressors import Level
from storagebench.compressors.randomized import spread_levels
from storagebench.errors import StorageBenchError

RANDOMIZED_RANGE = (1.0, 15.0)  # the paper's grid ends, the randomized scheme's starting interval (within the codec's)
PROBES = 8  # bisection steps in log distance: the final bracket is ~1.6% wide over the search range


@dataclass(frozen=True)
class CurveCell:
    scheme: str
    budget: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.scheme}|s={self.budget:g}|seed={self.seed}"


@dataclass
class TrainingSet:
    """The first ``n`` items of ``entry`` (the seed's stratified order) at ``level``."""

    entry: StoredSet
    n: int
    level: Level | list[Level]
    note: str = ""

    @property
    def total_bytes(self) -> int:
        return int(self.entry.sizes[:self.n].sum())

    @property
    def description(self) -> str:
        return describe_level(self.level) + (f" ({self.note})" if self.note else "")


def _round_distance(d: float) -> float:
    return float(f"{d:.3g}")  # stable cache keys; a 0.1% step is below what a search can resolve


class CurveBuilder:
    def __init__(self, plan: Plan, store: CompressedSetStore, law: ScalingLaw, workers: int):
        self.plan, self.store, self.law, self.workers = plan, store, law, workers
        self.probes = 0

    @property
    def search_range(self) -> tuple[float, float]:
        return searchable_range(self.plan.codec)  # only schemes that search need one

    def _entry(self, seed: int, n: int, level: Level | list[Level]) -> StoredSet:
        train = self.plan.splits.train
        entry, encoded = self.store.ensure(train.images, self.plan.orders[seed][:n], self.plan.codec, level,
                                           fingerprint=train.fingerprint, split="train", workers=self.workers)
        self.probes += encoded
        return entry

    def _fill(self, seed: int, budget: float, level: Level) -> TrainingSet:
        """As many images at ``level`` as fit within ``budget`` (real bytes), growing the encoded prefix as needed."""
        split = len(self.plan.splits.train)
        count = min(split, 256)
        while True:
            entry = self._entry(seed, count, level)
            fitting = int(np.searchsorted(np.cumsum(entry.sizes), budget, side="right"))
            if fitting < count or count == split:
                break
            count = min(split, int(count * max(2.0, 1.2 * budget / max(entry.sizes.sum(), 1))))
        if fitting == 0:
            raise StorageBenchError(f"budget {budget:.0f} bytes is smaller than one compressed image "
                                    f"({entry.sizes[0]} bytes at {describe_level(level)})")
        return TrainingSet(entry, fitting, level)

    def _n_star(self, budget: float) -> int:
        n = int(round(optimal_n(self.law, budget)))
        split = len(self.plan.splits.train)
        if n < len(self.plan.splits.classes):
            raise StorageBenchError(f"budget {budget:.0f} bytes: the fit's n* = {n} is fewer than one image per class")
        return min(n, split)

    def _bisect(self, total: Callable[[float], int], budget: float, lo: float, hi: float) -> float | None:
        """Smallest x in [lo, hi] (log scale) with total(x) ≤ budget, assuming total falls as x grows."""
        if total(hi) > budget:
            return None
        if total(lo) <= budget:
            return lo
        for _ in range(PROBES):
            mid = _round_distance(float(np.sqrt(lo * hi)))
            if mid in (lo, hi):
                break
            lo, hi = (lo, mid) if total(mid) <= budget else (mid, hi)
        return hi

    def _capped(self, seed: int, budget: float, n: int, distance: float) -> TrainingSet:
        """n* images do not fit even at the largest distance: keep as many as do, at that distance."""
        fill = self._fill(seed, budget, distance)
        return TrainingSet(fill.entry, fill.n, fill.level, note=f"n* = {n} does not fit: capped")

    def optimal(self, seed: int, budget: float) -> TrainingSet:
        n = self._n_star(budget)
        distance = self._bisect(lambda d: int(self._entry(seed, n, d).sizes.sum()), budget, *self.search_range)
        if distance is None:
            return self._capped(seed, budget, n, self.search_range[1])
        return TrainingSet(self._entry(seed, n, distance), n, distance)

    def _spread(self, seed: int, n: int, d_min: float, d_max: float) -> list[float]:
        return spread_levels(seed, n, d_min, d_max)

    def randomized(self, seed: int, budget: float) -> TrainingSet:
        n = self._n_star(budget)
        lo, hi = max(RANDOMIZED_RANGE[0], self.search_range[0]), min(RANDOMIZED_RANGE[1], self.search_range[1])
        size = lambda d_min, d_max: int(self._entry(seed, n, self._spread(seed, n, d_min, d_max)).sizes.sum())  # noqa: E731
        if size(lo, hi) > budget:  # too large: raise d_min towards d_max
            d_min = self._bisect(lambda d: size(d, hi), budget, lo, hi)
            if d_min is None:
                return self._capped(seed, budget, n, hi)
            levels = self._spread(seed, n, d_min, hi)
        else:  # room left: lower d_max towards d_min
            d_max = self._bisect(lambda d: size(lo, d), budget, lo, hi)
            levels = self._spread(seed, n, lo, d_max)
        return TrainingSet(self._entry(seed, n, levels), n, levels)

    def build(self, cell: CurveCell) -> TrainingSet:
        if cell.scheme == "original":
            return self._fill(cell.seed, cell.budget, self.plan.codec.original_level)
        if cell.scheme == "optimal":
            return self.optimal(cell.seed, cell.budget)
        if cell.scheme == "randomized":
            return self.randomized(cell.seed, cell.budget)
        if cell.scheme.startswith("naive-d"):
            return self._fill(cell.seed, cell.budget, self.plan.codec.parse_level(float(cell.scheme[7:])))
        raise StorageBenchError(f"unknown scheme {cell.scheme!r}")


def searchable_range(codec: Any) -> tuple[float, float]:
    """The level range the searches bisect: a continuous, distance-like knob (larger = fewer bytes)."""
    if codec.level_range is None or not codec.larger_is_smaller:
        raise StorageBenchError(f"curves: {codec.name}'s levels are not a continuous distance-like knob (larger = "
                                f"fewer bytes); its storage curves are not supported yet (JPEG XL distances and "
                                f"Butteraugli targets are)")
    return codec.level_range


def schemes(naive: list[float]) -> list[str]:
    return ["original", "optimal", *(f"naive-d{d:g}" for d in naive), "randomized"]


def cell_row(cell: CurveCell, training: TrainingSet, label_sizes: np.ndarray) -> dict[str, Any]:
    sizes = training.entry.sizes[:training.n]
    return {"cell": cell.key, "scheme": cell.scheme, "budget": cell.budget, "seed": cell.seed, "n": training.n,
            "bytes_total": int(sizes.sum()), "label_bytes_total": int(label_sizes.sum()),
            "bytes_per_image": float(sizes.mean()), "level": training.description,
            "train_manifest_sha256": training.entry.manifest_sha256}
