"""Same-recipe baselines the leaderboard always shows beside the entries: the grid's training subsets kept at full
quality, stored in two fixed lossless formats, as many as fit the budget.

- ``original format``: lossless JPEG XL, the paper's definition of the original format's size;
- ``random subset``: a random subset stored as PNG files, what a data platform would keep without thinking of codecs.

A lossless level decodes to the same pixels whatever the format, so any entry's lossless cells give these
baselines' errors; only the bytes differ, and those are the real sizes of the same images in each format, encoded
once through the store (cached) and recorded with the results.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from storagebench.compressors import COMPRESSORS

if TYPE_CHECKING:
    from storagebench.benchmarks.runner import Plan
    from storagebench.benchmarks.store import CompressedSetStore

BASELINE_FORMATS = {"original format": "jpegxl", "random subset": "png"}


def baseline_key(n: int, seed: int) -> str:
    return f"n={n}|seed={seed}"


def measure_baselines(plan: "Plan", store: "CompressedSetStore", workers: int) -> dict[str, Any]:
    """For each baseline: its format, and the mean bytes per image of each grid subset (n, seed) in that format."""
    train, pool = plan.splits.train, plan.train_pool
    baselines = {}
    for label, name in BASELINE_FORMATS.items():
        codec = COMPRESSORS.create(name, {}, f"baseline {label!r}")
        entry, _ = store.ensure(train.images, pool, codec, codec.original_level, fingerprint=train.fingerprint,
                                split="train", workers=workers)
        per_subset = {}
        for seed in plan.config.seeds:
            for n in plan.config.n:
                positions = np.searchsorted(pool, plan.orders[seed][:n])
                per_subset[baseline_key(n, seed)] = float(entry.sizes[positions].mean())
        baselines[label] = {"format": f"lossless {name}", "codec_versions": entry.manifest["library_versions"],
                            "bytes_per_image": per_subset}
    return baselines
