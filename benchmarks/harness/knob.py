"""A codec's level knob as storage curves search it: whatever its levels mean (a JPEG XL distance, a JPEG quality, a
scale factor, a learned codec's quality index, a submitted codec's integer levels), the search finds the level whose
real set is as large as possible without exceeding a byte budget. What the knob is comes from the codec protocol
alone (``level_range``, ``larger_is_smaller``, ``integer_levels``, ``search_levels``), so a submitted codec is
searched with no code of ours.

- A continuous knob (``level_range``) is searched in log space, levels rounded to 3 significant digits (or to whole
  numbers for ``integer_levels``) so that every probe is a stable store entry. Given a start (another seed's level,
  or where estimated sizes, e.g. the grid's measured bytes per image, put the budget) it takes secant steps on log
  size against log level, keeping a bracket and bisecting where a step would land near its end; without one it
  bisects the whole range, ``PROBES`` steps.
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
GUIDED_PROBES = 8  # sets a guided search encodes at most before it settles for the fullest that fits
MAX_STEP = 4.0  # level ratio of one secant step at most (before the answer is bracketed)
MIN_STEP = 1.01  # ... and at least (a step must reach another rounded level)
FILLED = 0.99  # a search stops at the first level whose set fills at least this share of the budget
AIM = (1 + FILLED) / 2  # the share of the budget a guided step aims at: the middle of the window that ends a search
Total = Callable[[Level], int]
Estimates = dict[Level, float]  # level → an estimate of the set's total bytes there (a guide; never the answer)


class LevelKnob(abc.ABC):
    continuous: bool = False
    distance_like: bool = False  # larger levels mean fewer bytes
    levels_to_fit: tuple[Level, ...] = ()  # levels a codec that learns must be fitted at before a search

    @property
    @abc.abstractmethod
    def smallest(self) -> Level:
        """The level that stores the fewest bytes (where a set that cannot fit is capped)."""

    def search(self, total: Total, budget: float, guess: Level | None = None,
               estimates: Estimates | None = None) -> Level | None:
        """The level whose ``total`` (real bytes of the set) is largest within ``budget``, or the first level
        probed whose total fills at least ``FILLED`` of it; None if none fits. A ``guess`` (another seed's level)
        or ``estimates`` of the total at a few levels (the grid's measured bytes per image times n) start the search
        near the answer, so the set itself is encoded at fewer levels; the answer is checked on the set's real bytes
        either way."""
        def checked(level: Level) -> int:
            found = total(level)
            if FILLED * budget <= found <= budget:
                raise _Filled(level)
            return found

        try:
            return self._search(checked, budget, guess, estimates or {})
        except _Filled as filled:
            return filled.level

    @abc.abstractmethod
    def _search(self, total: Total, budget: float, guess: Level | None, estimates: Estimates) -> Level | None: ...

    @abc.abstractmethod
    def describe(self) -> str: ...


class _Filled(Exception):
    """A probed level fills the budget well enough: the search ends there."""

    def __init__(self, level: Level):
        super().__init__(level)
        self.level = level


@dataclass(frozen=True)
class _Segment:
    level: float  # where the estimates put the aim (interpolated, or extrapolated beyond them)
    slope: float  # d log total / d log level there


def _segment(estimates: Estimates, aim: float) -> _Segment | None:
    """The aim (a log total) read off the numeric ``estimates``: on the line through the two neighbouring ones that
    bracket it (or the two nearest, beyond them); None without two usable estimates."""
    points = sorted({float(np.log(t)): float(np.log(float(lv))) for lv, t in estimates.items()
                     if not isinstance(lv, str) and float(lv) > 0 and t > 0}.items())
    if len(points) < 2:
        return None
    i = min(max(int(np.searchsorted([t for t, _ in points], aim)), 1), len(points) - 1)
    (t1, l1), (t2, l2) = points[i - 1], points[i]
    if l1 == l2:
        return None
    return _Segment(float(np.exp(l1 + (aim - t1) * (l2 - l1) / (t2 - t1))), (t2 - t1) / (l2 - l1))


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

    def _search(self, total: Total, budget: float, guess: Level | None, estimates: Estimates) -> float | None:
        segment = _segment(estimates, float(np.log(AIM * budget)))
        if guess is None and segment is not None:
            guess = segment.level
        if guess is not None:
            slope = segment.slope if segment is not None else -1.0 if self.distance_like else 1.0
            return self._secant(total, budget, self.rounding(min(max(float(guess), self.low), self.high)), slope)
        if total(self.smallest) > budget:
            return None
        if total(self.largest) <= budget:
            return self.largest
        return bisect_log(total, budget, self.smallest, self.largest, self.rounding)

    def _secant(self, total: Total, budget: float, start: float, slope: float) -> float | None:
        """From ``start``, steps of the secant of log total against log level (``slope`` until two levels are
        known), aimed at ``AIM`` of the budget; once a fitting and an oversized level bracket the answer, steps stay
        inside the bracket (bisecting when a step lands near an end) until the bracket is one rounding step wide."""
        probed: dict[float, int] = {}
        level = start
        for _ in range(GUIDED_PROBES):
            probed[level] = total(level)
            fits = [lv for lv, t in probed.items() if t <= budget]
            over = [lv for lv, t in probed.items() if t > budget]
            if fits and over:
                low = max(fits, key=probed.__getitem__)
                high = min(over, key=probed.__getitem__)
                level = self._inside(low, high, probed, budget)
            else:
                level = self._extrapolated(level, probed, budget, slope)
            if level is None or level in probed:
                break
        fitting = [lv for lv, t in probed.items() if t <= budget]
        if fitting:
            return max(fitting, key=probed.__getitem__)
        return None if self.smallest in probed else self._secant_fallback(total, budget)

    def _inside(self, fits: float, over: float, probed: dict[float, int], budget: float) -> float | None:
        """The next level strictly between ``fits`` and ``over``: interpolated, or their log midpoint when that
        lands in the outer tenth; None when no rounded level lies between them."""
        a, b = np.log(fits), np.log(over)
        ta, tb = np.log(max(probed[fits], 1)), np.log(probed[over])  # tb > log(budget) ≥ ta
        x = float(a + (np.log(AIM * budget) - ta) * (b - a) / (tb - ta))
        if not min(a, b) + 0.1 * abs(b - a) < x < max(a, b) - 0.1 * abs(b - a):
            x = float(a + b) / 2
        level = self.rounding(float(np.exp(x)))
        if level in (fits, over):
            level = self.rounding(float(np.sqrt(fits * over)))
        return None if level in (fits, over) else level

    def _extrapolated(self, level: float, probed: dict[float, int], budget: float, slope: float) -> float | None:
        """A secant step from ``level`` toward the budget (every probe so far on one side of it), by the slope of the
        last two probes when they have one of the knob's sign; None at a range end that is the answer (the largest
        level fits) or cannot fit (the smallest does not)."""
        recent = list(probed.items())[-2:]
        if len(recent) == 2:
            (l1, t1), (l2, t2) = recent
            measured = np.log(max(t2, 1) / max(t1, 1)) / np.log(l2 / l1)
            if measured * slope > 0:
                slope = float(measured)
        factor = float(np.exp(abs(np.log(AIM * budget / max(probed[level], 1)) / slope)))
        moved = self._step(level, min(max(factor, MIN_STEP), MAX_STEP), probed[level] <= budget)
        return None if moved == level else moved

    def _step(self, level: float, factor: float, more_bytes: bool) -> float:
        """``level`` moved by ``factor`` toward more (or fewer) bytes, within the range, by at least one unit."""
        up = more_bytes != self.distance_like
        moved = self.rounding(min(max(level * factor if up else level / factor, self.low), self.high))
        if moved == level and self.integer:
            moved = min(max(level + (1 if up else -1), self.low), self.high)
        return moved

    def _secant_fallback(self, total: Total, budget: float) -> float | None:
        if total(self.smallest) > budget:
            return None
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

    def _search(self, total: Total, budget: float, guess: Level | None, estimates: Estimates) -> Level | None:
        known = [lv for lv in self.levels if lv in estimates]
        if guess is None and known:  # the level estimated to fill the budget best
            fitting = [lv for lv in known if estimates[lv] <= budget]
            guess = fitting[-1] if fitting else known[0]
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
