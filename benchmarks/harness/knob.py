"""A codec's level knob as storage curves search it: whatever its levels mean (a JPEG XL distance, a JPEG quality, a
scale factor, a learned codec's quality index, a submitted codec's integer levels), the search finds the level whose
real set is as large as possible without exceeding a byte budget. What the knob is comes from the codec protocol
alone (``level_range``, ``larger_is_smaller``, ``integer_levels``, ``search_levels``), so a submitted codec is
searched with no code of ours.

- A continuous knob (``level_range``) is bisected in log space, ``PROBES`` steps, levels rounded to 3 significant
  digits (or to whole numbers for ``integer_levels``) so that every probe is a stable store entry.
- A discrete knob (``search_levels``, by default the numeric ``default_levels``) is binary-searched over its levels
  ordered from fewest bytes to most (numeric levels by ``larger_is_smaller``, named ones such as the randomized
  codec's ranges in the order the codec gives them).
Sizes are assumed to change monotonically along the knob, as they do for every built-in codec.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from storagebench.compressors import Level, level_label
from storagebench.errors import StorageBenchError

PROBES = 10  # bisection steps in log level: the final bracket is ~0.4% wide over JPEG XL's search range
STEP = 1.01  # a guided search's first step from its guess (level ratio); it squares until the level is bracketed
REFINE = 2  # bisection steps inside a guided search's bracket (then ≤ 0.25% wide)
FILLED = 0.99  # a search stops at the first level whose set fills at least this share of the budget
Total = Callable[[Level], int]


class LevelKnob(abc.ABC):
    continuous: bool = False
    distance_like: bool = False  # larger levels mean fewer bytes
    levels_to_fit: tuple[Level, ...] = ()  # levels a codec that learns must be fitted at before a search

    @property
    @abc.abstractmethod
    def smallest(self) -> Level:
        """The level that stores the fewest bytes (where a set that cannot fit is capped)."""

    def search(self, total: Total, budget: float, guess: Level | None = None) -> Level | None:
        """The level whose ``total`` (real bytes of the set) is largest within ``budget``, or the first level
        probed whose total fills at least ``FILLED`` of it; None if none fits. A ``guess`` (e.g. from a sample of
        the set, or another seed's set) starts the search near the answer, so the set itself is encoded at fewer
        levels; the answer is checked on the set's real bytes either way."""
        def checked(level: Level) -> int:
            found = total(level)
            if FILLED * budget <= found <= budget:
                raise _Filled(level)
            return found

        try:
            return self._search(checked, budget, guess)
        except _Filled as filled:
            return filled.level

    @abc.abstractmethod
    def _search(self, total: Total, budget: float, guess: Level | None) -> Level | None: ...

    @abc.abstractmethod
    def describe(self) -> str: ...


class _Filled(Exception):
    """A probed level fills the budget well enough: the search ends there."""

    def __init__(self, level: Level):
        super().__init__(level)
        self.level = level


def bisect_log(total: Total, budget: float, fits: float, over: float, rounding: Callable[[float], float],
               probes: int = PROBES) -> float:
    """Between a level known to fit (``fits``) and one known not to (``over``), the level nearest ``over`` that fits,
    found by bisection of the log level."""
    for _ in range(probes):
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

    def _search(self, total: Total, budget: float, guess: Level | None) -> float | None:
        if guess is not None:
            return self._from_guess(total, budget, self.rounding(min(max(float(guess), self.low), self.high)))
        if total(self.smallest) > budget:
            return None
        if total(self.largest) <= budget:
            return self.largest
        return bisect_log(total, budget, self.smallest, self.largest, self.rounding)

    def _step(self, level: float, factor: float, more_bytes: bool) -> float:
        """``level`` moved by ``factor`` toward more (or fewer) bytes, within the range, by at least one unit."""
        up = more_bytes != self.distance_like
        moved = self.rounding(min(max(level * factor if up else level / factor, self.low), self.high))
        if moved == level and self.integer:
            moved = min(max(level + (1 if up else -1), self.low), self.high)
        return moved

    def _from_guess(self, total: Total, budget: float, guess: float) -> float | None:
        """Walk from ``guess`` in growing steps until the answer is bracketed, then bisect the bracket."""
        more_bytes = total(guess) <= budget
        known, factor = guess, STEP
        while True:
            nxt = self._step(known, factor, more_bytes)
            if nxt == known:  # an end of the range: the largest level fits, or the smallest does not
                return known if more_bytes else None
            if (total(nxt) <= budget) != more_bytes:
                fits, over = (known, nxt) if more_bytes else (nxt, known)
                return bisect_log(total, budget, fits, over, self.rounding, REFINE)
            known, factor = nxt, factor * factor

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

    def _search(self, total: Total, budget: float, guess: Level | None) -> Level | None:
        if guess in self.levels:  # walk from the guess: one or two sets encoded when it is right
            i = self.levels.index(guess)
            if total(self.levels[i]) <= budget:
                while i + 1 < len(self.levels) and total(self.levels[i + 1]) <= budget:
                    i += 1
                return self.levels[i]
            while i > 0:
                i -= 1
                if total(self.levels[i]) <= budget:
                    return self.levels[i]
            return None
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
    if codec.search_levels and all(isinstance(v, str) for v in candidates):  # named levels: fewest bytes first
        if len(set(candidates)) < 2:
            raise StorageBenchError(f"curves: {codec.name}'s search_levels name fewer than two levels")
        return DiscreteKnob(tuple(dict.fromkeys(candidates)))
    numeric = sorted({float(v) for v in candidates if not isinstance(v, str)}, reverse=bool(codec.larger_is_smaller))
    if len(numeric) < 2:
        raise StorageBenchError(f"curves: {codec.name} has no level knob to search (it declares neither a "
                                f"level_range nor two or more numeric search_levels / default_levels)")
    return DiscreteKnob(tuple(numeric))
