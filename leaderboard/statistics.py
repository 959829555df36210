"""Statistics of a ranked board, as a reviewer accepts them. Every entry of a board is measured on the same seeds
(a seed is the subset draw and the model's initialisation), so entries are compared seed by seed (paired).

- Each entry: its mean error over seeds with a 95 % t-interval (``scipy.stats.ttest_1samp``).
- Each entry against the leader (lowest mean) and against a reference entry (e.g. the original format): the mean
  paired difference with its 95 % interval (``scipy.stats.ttest_rel``).
- Ties: each entry's paired test against the leader, p-values Holm-corrected over the board
  (``statsmodels.stats.multitest.multipletests``). An entry whose corrected p is at least ``ALPHA`` is not
  distinguishable from the leader and shares its rank ("1="); the others follow by mean error.
Nothing here picks the best of several measurements: each entry brings exactly one set's per-seed errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from storagebench.errors import StorageBenchError

CONFIDENCE = 0.95
ALPHA = 0.05
MIN_SEEDS = 3
REFERENCE = "\0reference"  # a reference given by its errors, compared with but never ranked


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class RankedEntry:
    name: str
    seeds: int
    error: Interval
    rank: int
    tied: bool  # shares rank 1 with the leader (the leader itself too, when anything ties with it)
    to_leader: Interval | None  # this entry − the leader, paired by seed; None for the leader
    to_reference: Interval | None  # this entry − the reference entry, paired; None without one (or for it)
    p_vs_leader: float | None  # Holm-corrected

    @property
    def rank_label(self) -> str:
        return f"{self.rank}=" if self.tied else str(self.rank)


def mean_interval(values: np.ndarray) -> Interval:
    values = np.asarray(values, dtype=float)
    if np.ptp(values) == 0:  # no spread: the interval is the value (a t-interval would be undefined)
        return Interval(float(values[0]), float(values[0]), float(values[0]))
    low, high = stats.ttest_1samp(values, 0.0).confidence_interval(CONFIDENCE)
    return Interval(float(values.mean()), float(low), float(high))


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[Interval, float]:
    """``a − b`` seed by seed: the mean difference with its interval, and the two-sided p-value of no difference."""
    difference = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if np.ptp(difference) == 0:
        value = float(difference[0])
        return Interval(value, value, value), (1.0 if value == 0 else 0.0)
    result = stats.ttest_rel(a, b)
    low, high = result.confidence_interval(CONFIDENCE)
    return Interval(float(difference.mean()), float(low), float(high)), float(result.pvalue)


def _aligned(errors: dict[str, dict[int, float]]) -> tuple[list[int], dict[str, np.ndarray]]:
    if not errors:
        raise StorageBenchError("a board needs at least one entry")
    seeds = sorted(next(iter(errors.values())))
    for name, by_seed in errors.items():
        if sorted(by_seed) != seeds:
            raise StorageBenchError(f"{name}: measured on seeds {sorted(by_seed)}, the board on {seeds}: entries "
                                    f"are compared seed by seed")
    if len(seeds) < MIN_SEEDS:
        raise StorageBenchError(f"a ranked board needs ≥ {MIN_SEEDS} seeds per entry, got {len(seeds)}")
    return seeds, {name: np.array([by_seed[s] for s in seeds], dtype=float) for name, by_seed in errors.items()}


def rank_entries(errors: dict[str, dict[int, float]], reference: str | dict[int, float] | None = None
                 ) -> list[RankedEntry]:
    """``errors``: entry name → seed → error of its one ranked set; ``reference``: an entry's name, or a
    reference's own errors per seed (e.g. a baseline's; seeds it lacks give no difference). The entries in rank
    order."""
    from statsmodels.stats.multitest import multipletests

    seeds, values = _aligned(errors)
    if isinstance(reference, dict):
        if not set(seeds) <= set(reference):
            reference = None
        else:
            values = {**values, REFERENCE: np.array([reference[s] for s in seeds], dtype=float)}
            reference = REFERENCE
    elif reference is not None and reference not in values:
        raise StorageBenchError(f"reference {reference!r} is not an entry of the board")
    order = sorted((name for name in values if name != REFERENCE), key=lambda name: (float(values[name].mean()), name))
    leader, others = order[0], order[1:]
    compared = {name: paired_difference(values[name], values[leader]) for name in others}
    adjusted = dict(zip(others, multipletests([compared[n][1] for n in others], method="holm")[1])) if others else {}
    tied = {name for name in others if adjusted[name] >= ALPHA}
    ranked = []
    for position, name in enumerate([leader, *[n for n in others if n in tied], *[n for n in others if n not in tied]]):
        is_tied = name in tied or (name == leader and bool(tied))
        to_reference = None if reference in (None, name) else paired_difference(values[name], values[reference])[0]
        ranked.append(RankedEntry(name, len(seeds), mean_interval(values[name]),
                                  1 if (name == leader or name in tied) else position + 1, is_tied,
                                  compared[name][0] if name != leader else None, to_reference,
                                  float(adjusted[name]) if name != leader else None))
    return ranked
