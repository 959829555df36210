"""What a grid will cost before it runs (``storagebench run --dry-run``): its cells, the images to encode that the
store does not hold yet, the encoding CPU time estimated from a measured sample, the images seen in training, and
whether the decoded sets fit in memory. Nothing is written: no results dir, no store entry."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from storagebench.benchmarks.harness.baselines import BASELINE_FORMATS
from storagebench.benchmarks.harness.runner import Plan
from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS, ImageCodec, Level, level_label
from storagebench.images import image_shapes
from storagebench.units import format_bytes


@dataclass(frozen=True)
class EncodeCost:
    what: str  # e.g. "jpegxl 4, train" or "png lossless, train (baseline)"
    images: int  # the store does not hold them yet
    seconds_per_image: float  # measured on the sample, one core


@dataclass(frozen=True)
class PlanCost:
    cells: int
    encodes: list[EncodeCost]
    sample: int
    images_seen: int  # over every cell: steps × batch
    decoded_bytes: int  # of every set the cells read

    @property
    def encode_cpu_hours(self) -> float:
        return sum(e.images * e.seconds_per_image for e in self.encodes) / 3600


def _sets(plan: Plan) -> list[tuple[str, ImageCodec, Level, str, np.ndarray]]:
    """Every (role, codec, level, split, indices) a run encodes: the grid's sets and the baselines'."""
    sets = [("", plan.codec, level, "train", plan.train_pool) for level in plan.train_levels]
    sets += [("", plan.codec, level, "test", np.arange(len(plan.splits.test))) for level in plan.test_levels]
    for name in BASELINE_FORMATS.values():
        codec = COMPRESSORS.create(name, {}, "baseline")
        sets.append((" (baseline)", codec, codec.original_level, "train", plan.train_pool))
    return sets


def _seconds_per_image(codec: ImageCodec, level: Level, images: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for image in images:
        codec.encode(image, level)
    return (time.perf_counter() - started) / max(len(images), 1)


def plan_cost(plan: Plan, cache_root, sample: int = 8) -> PlanCost:  # noqa: ANN001
    """Measure and count; the codec encodes ``sample`` training images per level (timed, kept nowhere)."""
    store = CompressedSetStore(cache_root) if cache_root.is_dir() else None
    train = plan.splits.train
    picks = [train.images[int(i)] for i in plan.orders[plan.config.seeds[0]][:sample]]
    encodes, speed = [], {}
    for role, codec, level, split, indices in _sets(plan):
        key = CompressedSetStore.key(plan.splits.split(split).pixels_fingerprint, split, indices, codec, level)
        held = store is not None and store.lookup(key) is not None
        timing = (role, codec.name, level_label(level))
        if timing not in speed:
            speed[timing] = _seconds_per_image(codec, level, picks)
        encodes.append(EncodeCost(f"{codec.name} {level_label(level)}, {split}{role}", 0 if held else len(indices),
                                  speed[timing]))
    images_seen = sum(plan.task.steps_for(c.n) * min(getattr(plan.task.params, "batch_size", 1), c.n)
                      for c in plan.cells)
    pool_bytes = int(np.prod(image_shapes(train.images[plan.train_pool]), axis=1).sum())
    test_bytes = int(np.prod(image_shapes(plan.splits.test.images), axis=1).sum())
    decoded = pool_bytes * len(plan.train_levels) + test_bytes * len(plan.test_levels)
    return PlanCost(len(plan.cells), encodes, len(picks), images_seen, decoded)


def describe_cost(cost: PlanCost, memory_bytes: int) -> str:
    lines = [f"dry run: {cost.cells} cells; nothing is written"]
    for e in cost.encodes:
        lines.append(f"  encode {e.what:<36} {e.images:>10,} images  ({e.seconds_per_image * 1e3:.1f} ms/image "
                     f"on one core, {cost.sample} measured)")
    lines.append(f"  encoding: {sum(e.images for e in cost.encodes):,} images not in the store, about "
                 f"{cost.encode_cpu_hours:.2f} CPU-hours = {cost.encode_cpu_hours * 3600:,.0f} CPU-seconds (divide "
                 f"by the workers)")
    lines.append(f"  training: {cost.images_seen:,} images seen over all cells (steps × batch)")
    fits = cost.decoded_bytes <= memory_bytes
    lines.append(f"  decoded sets: {format_bytes(cost.decoded_bytes)}, memory budget {format_bytes(memory_bytes)}: "
                 f"{'decoded into memory' if fits else 'training sets read from the store on access'}")
    return "\n".join(lines)
