"""Randomized per-image levels (Mentzer & Montanari): a level is a range "lo..hi" of an inner codec's numeric
level; the images of a set get levels spread evenly over [lo, hi], in a random order fixed by ``seed`` (and the
set's size). Each image's own level is stored in the manifest, as the decoder needs no more than its bitstream and
that level. Entries of a benchmark cover its training pool: a cell's n images are a random sample of that spread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level
from storagebench.compressors.registry import COMPRESSORS
from storagebench.errors import StorageBenchError


def spread_levels(seed: int, count: int, low: float, high: float) -> list[float]:
    """``count`` levels evenly spaced over [low, high] in a random order fixed by (seed, count), at 3 significant
    digits (stable cache keys; finer steps are below what any codec resolves)."""
    ranks = np.random.default_rng([seed, count]).permutation(count)
    return [float(f"{v:.3g}") for v in low + (high - low) * ranks / max(count - 1, 1)]


@dataclass(frozen=True)
class RandomizedParams:
    codec: str = "jpegxl"  # the inner codec: any with a numeric level range
    seed: int = 0
    inner: dict = field(default_factory=dict)  # the inner codec's parameters

    def check(self) -> str | None:
        return None if self.seed >= 0 else f"seed must be ≥ 0, got {self.seed}"


def parse_range(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, str) or ".." not in value:
        return None
    low, _, high = value.partition("..")
    try:
        return float(low), float(high)
    except ValueError:
        return None


@COMPRESSORS.register("randomized")
class Randomized(ImageCodec):
    """Per-image levels spread evenly over a range "lo..hi" of an inner codec (default JPEG XL), random order."""

    Params = RandomizedParams
    version = "1"
    default_levels = (LOSSLESS, "1..4", "2..7", "4..10", "7..15", "1..15")  # for the default inner codec
    default_test_levels = (LOSSLESS, "7..15")
    # what storage-curve searches step along, fewest bytes first: ranges of the default inner codec's distances
    search_levels = ("10..25", "7..15", "4..10", "2..7", "1..4", "0.5..2")

    def __init__(self, params: Any):
        super().__init__(params)
        if params.codec == self.name:
            raise StorageBenchError("[compressor].codec: randomized cannot wrap itself")
        self.inner = COMPRESSORS.create(params.codec, params.inner, "[compressor].inner")
        if type(self.inner).fit is not ImageCodec.fit:
            raise StorageBenchError(f"[compressor].codec: {params.codec!r} learns from data (fit); randomized wraps "
                                    f"codecs that need no fitting")
        if self.inner.level_range is None:
            raise StorageBenchError(f"[compressor].codec: {params.codec!r} has no numeric level range to spread "
                                    f"levels over")

    def parse_level(self, value: Any) -> Level:
        if value == LOSSLESS:
            return self.inner.parse_level(LOSSLESS)
        bounds = parse_range(value)
        if bounds is None or not bounds[0] < bounds[1]:
            raise ValueError(f'randomized levels are ranges "lo..hi" (lo < hi) of {self.params.codec} levels or '
                             f'"lossless", got {value!r}')
        for bound in bounds:
            self.inner.parse_level(bound)
        return f"{bounds[0]:g}..{bounds[1]:g}"

    def item_levels(self, level: Level, count: int) -> Level | list[Level]:
        bounds = parse_range(level)
        if bounds is None:
            return level
        return [self._inner_level(v) for v in spread_levels(self.params.seed, count, *bounds)]

    def _inner_level(self, value: float) -> Level:
        try:
            return self.inner.parse_level(value)
        except ValueError:  # an integer knob (JPEG quality)
            return self.inner.parse_level(round(value))

    def _item(self, level: Level) -> Level:
        bounds = parse_range(level)  # a whole range for one image alone: its middle
        return level if bounds is None else self._inner_level((bounds[0] + bounds[1]) / 2)

    def encode_with_info(self, image: np.ndarray, level: Level) -> tuple[bytes, dict[str, float]]:
        return self.inner.encode_with_info(image, self._item(level))

    def encode(self, image: np.ndarray, level: Level) -> bytes:
        return self.inner.encode(image, self._item(level))

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        return self.inner.decode(data, self._item(level))

    def library_versions(self) -> dict[str, str]:
        return self.inner.library_versions()

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "inner": self.inner.identity()}

