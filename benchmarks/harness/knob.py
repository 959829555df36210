"""A codec's level knob as storage curves search it: whatever its levels mean (a JPEG XL distance, a JPEG quality, a
scale factor, a learned codec's quality index, a submitted codec's integer levels), the search finds the level whose
real set is as large as possible without exceeding a byte budget. What the knob is comes from the codec protocol
alone (``level_range``, ``larger_is_smaller``, ``integer_levels``, ``search_levels``), so a submitted codec is
searched with no code of ours.

- A continuous knob (``level_range``) is bisected in log space, ``PROBES`` steps, levels rounded to 3 significant
  digits (or to whole numbers for ``integer_levels``) so that every probe is a stable store entry.
- A discrete knob (``search_levels``, by default the numeric ``default_levels``) is binary-searched over its levels
  ordered from fewest bytes to most.
Sizes are assumed to change monotonically along the knob, as they do for every built-in codec.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from storagebench.compressors import Level, level_label
from storagebench.errors import StorageBenchError

PROBES = 8  # bisection steps in log level: the final bracket is ~1.6% wide over JPEG XL's search range
Total = Callable[[Level], int]


class LevelKnob(abc.ABC):
    continuous: bool = False
    distance_like: bool = False  # larger levels mean fewer bytes
    levels_to_fit: tuple[Level, ...] = ()  # levels a codec that learns must be fitted at before a search

    @property
    @abc.abstractmethod
    def smallest(self) -> Level:
        """The level that stores the fewest bytes (where a set that cannot fit is capped)."""

    @abc.abstractmethod
    def search(self, total: Total, budget: float) -> Level | None:
        """The level whose ``total`` (real bytes of the set) is largest within ``budget``; None if none fits."""

    @abc.abstractmethod
    def describe(self) -> str: ...


def bisect_log(total: Total, budget: float, fits: float, over: float, rounding: Callable[[float], float]) -> float:
    """Between a level known to fit (``fits``) and one known not to (``over``), the level nearest ``over`` that fits,
    found by bisection of the log level."""
    for _ in range(PROBES):
        mid = rounding(float(np.sqrt(fits * over)))
        if mid in (fits, over):
            break
        fits, over = (mid, over) if total(mid) <= budget else (fits, mid)
    return fits


@dataclass(frozen=True)
class ContinuousKnob(LevelKnob):
    low: float
    high: float
    distance_like: bool
    integer: bool = False
    continuous = True

    @property
    def smallest(self) -> float:
        return self.high if self.distance_like else self.low

    @property
    def largest(self) -> float:
        return self.low if self.distance_like else self.high

    def rounding(self, value: float) -> float:
        return float(round(value)) if self.integer else float(f"{value:.3g}")

    def search(self, total: Total, budget: float) -> float | None:
        if total(self.smallest) > budget:
            return None
        if total(self.largest) <= budget:
            return self.largest
        return bisect_log(total, budget, self.smallest, self.largest, self.rounding)

    def describe(self) -> str:
        kind = "distance-like" if self.distance_like else "quality-like"
        return f"continuous {kind} levels {self.low:g}..{self.high:g}" + (" (whole numbers)" if self.integer else "")


@dataclass(frozen=True)
class DiscreteKnob(LevelKnob):
    levels: tuple[Level, ...]  # fewest bytes first

    @property
    def smallest(self) -> Level:
        return self.levels[0]

    @property
    def levels_to_fit(self) -> tuple[Level, ...]:
        return self.levels

    def search(self, total: Total, budget: float) -> Level | None:
        if total(self.levels[0]) > budget:
            return None
        fits, over = 0, len(self.levels)  # levels[fits] fits; levels[over] (past the end) stands for "too large"
        while over - fits > 1:
            mid = (fits + over) // 2
            fits, over = (mid, over) if total(self.levels[mid]) <= budget else (fits, mid)
        return self.levels[fits]

    def describe(self) -> str:
        return f"discrete levels {', '.join(level_label(lv) for lv in self.levels)} (fewest bytes first)"


def knob_for(codec: Any) -> LevelKnob:
    """The searchable knob ``codec`` declares; one clear error when it has none."""
    if codec.level_range is not None:
        low, high = codec.level_range
        return ContinuousKnob(float(low), float(high), bool(codec.larger_is_smaller), bool(codec.integer_levels))
    candidates = [codec.parse_level(v) for v in (codec.search_levels or codec.default_levels)]
    numeric = sorted({float(v) for v in candidates if not isinstance(v, str)}, reverse=bool(codec.larger_is_smaller))
    if len(numeric) < 2:
        raise StorageBenchError(f"curves: {codec.name} has no level knob to search (it declares neither a "
                                f"level_range nor two or more numeric search_levels / default_levels)")
    return DiscreteKnob(tuple(numeric))
