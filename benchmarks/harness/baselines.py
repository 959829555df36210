"""Same-recipe baselines the leaderboard always shows beside the entries: the grid's training subsets kept at full
quality, stored in two fixed lossless formats, as many as fit the budget.

- ``original format``: lossless JPEG XL, the paper's definition of the original format's size;
- ``random subset``: a random subset stored as PNG files, what a data platform would keep without thinking of codecs.

Under a benchmark's ``[protocol]`` each baseline also fills every budget s with the first images of each protocol
seed's order (``measure_filled_baselines``), the sets the leaderboard ranks them by.

Their bytes are the real sizes of the same images in each format, encoded once through the store (cached). Their
errors are the harness's own: models trained with the benchmark's recipe and seeds on the subsets' original pixels
and evaluated on the original test images (``record_baseline_errors``). Both are recorded with every results dir
(``meta.baselines`` and ``meta.baseline_errors``), so no entry's cells ever set a baseline.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from storagebench.benchmarks.harness.cells import subset_key
from storagebench.compressors import COMPRESSORS, LOSSLESS

if TYPE_CHECKING:
    from storagebench.benchmarks.harness.results import ResultsDB
    from storagebench.benchmarks.harness.runner import Plan
    from storagebench.benchmarks.harness.store import CompressedSetStore

BASELINE_FORMATS = {"original format": "jpegxl", "random subset": "png"}


def measure_baselines(plan: "Plan", store: "CompressedSetStore", workers: int) -> dict[str, Any]:
    """For each baseline: its format, and the mean bytes per image of each grid subset (n, seed) in that format."""
    train, pool = plan.splits.train, plan.train_pool
    baselines = {}
    for label, name in BASELINE_FORMATS.items():
        codec = COMPRESSORS.create(name, {}, f"baseline {label!r}")
        entry, _ = store.ensure(train.images, pool, codec, codec.original_level, fingerprint=train.pixels_fingerprint,
                                split="train", workers=workers)
        per_subset = {}
        for seed in plan.config.seeds:
            for n in plan.config.n:
                positions = np.searchsorted(pool, plan.orders[seed][:n])
                per_subset[subset_key(n, seed)] = float(entry.sizes[positions].mean())
        baselines[label] = {"format": f"lossless {name}", "codec_versions": entry.manifest["library_versions"],
                            "bytes_per_image": per_subset}
    return baselines


def measure_filled_baselines(plan: "Plan", store: "CompressedSetStore", budgets: tuple[float, ...],
                             seeds: tuple[int, ...], workers: int) -> dict[str, Any]:
    """The protocol's baselines: for each baseline, budget s and seed, how many of the seed's first images fit in s
    in its format (their real sizes, encoded through the store) — label → s → seed → {n, bytes_total}."""
    from storagebench.benchmarks.harness.curves import fill_prefix

    train = plan.splits.train
    filled: dict[str, Any] = {}
    for label, name in BASELINE_FORMATS.items():
        codec = COMPRESSORS.create(name, {}, f"baseline {label!r}")

        def prefix(seed: int, count: int) -> Any:
            return store.ensure(train.images, plan.orders[seed][:count], codec, codec.original_level,
                                fingerprint=train.pixels_fingerprint, split="train", workers=workers)[0]

        for seed in seeds:
            entry, _ = fill_prefix(lambda count: prefix(seed, count), len(train), max(budgets))
            totals = np.cumsum(entry.sizes)
            for budget in budgets:  # every budget's set is a prefix of the largest one's
                n = int(np.searchsorted(totals, budget, side="right"))
                filled.setdefault(label, {}).setdefault(f"{budget:g}", {})[str(seed)] = {
                    "n": n, "bytes_total": int(totals[n - 1]) if n else 0}
    return filled


def filled_subsets(filled: dict[str, Any]) -> list[tuple[int, int]]:
    """The (n, seed) subsets the filled baselines train on, each once."""
    return sorted({(found["n"], int(seed)) for per_budget in filled.values() for per_seed in per_budget.values()
                   for seed, found in per_seed.items() if found["n"]})


@dataclass(frozen=True)
class BaselineCell:
    """A model trained on the original pixels of grid subset (n, seed)."""

    n: int
    seed: int

    @property
    def key(self) -> str:
        return subset_key(self.n, self.seed)


def record_baseline_errors(plan: "Plan", db: "ResultsDB", workers: int,
                           subsets: list[tuple[int, int]] | None = None) -> None:
    """The baselines' errors for every grid subset (n, seed), or the given ``subsets``, once per results dir. A
    lossless cell of the grid is such a model when its training digest is that of the original pixels and targets
    (decoding checked them bit for bit); any other subset's model is trained here on the original pixels, with the
    cells' recipe and seed."""
    from storagebench.benchmarks.harness.runner import Cell, train_cells
    from storagebench.log import say

    recorded = json.loads(db.meta("baseline_errors") or "{}")
    subsets = subsets if subsets is not None else [(n, seed) for seed in plan.config.seeds for n in plan.config.n]
    wanted = [cell for cell in (BaselineCell(n, seed) for n, seed in subsets) if cell.key not in recorded]
    if not wanted:
        return
    train = plan.splits.train
    errors = {row.cell: row.error for row in db.rows(test_level=LOSSLESS)}
    digests = {row.cell: row.train_sha256 for row in db.cells()}
    for cell in wanted:
        grid = Cell(LOSSLESS, cell.n, cell.seed).key
        subset = plan.orders[cell.seed][:cell.n]
        if grid in errors and digests[grid] == train.training_digest(train.images[subset], train.targets(subset)):
            recorded[cell.key] = {"n": cell.n, "seed": cell.seed, "error": errors[grid],
                                  "train_sha256": digests[grid], "from": f"grid cell {grid}"}
    db.set_meta({"baseline_errors": json.dumps(recorded)})
    missing = [cell for cell in wanted if cell.key not in recorded]
    if not missing:
        return
    say(f"baselines: training {len(missing)} models on their subsets' original pixels")

    def write(found: dict[str, Any], run_id: int) -> None:
        recorded[subset_key(found["n"], found["seed"])] = {**found, "from": f"trained on the original pixels "
                                                                              f"(run {run_id})"}
        db.set_meta({"baseline_errors": json.dumps(recorded)})

    train_cells(plan, db, _train_baseline, missing, size=lambda c: c.n, workers=workers,
                shared={"tests": {LOSSLESS: plan.splits.test.images}}, write=write)


def _train_baseline(job: dict[str, Any], cell: BaselineCell) -> dict[str, Any]:
    from storagebench.benchmarks.harness.runner import train_and_evaluate

    plan = job["plan"]
    subset = plan.orders[cell.seed][:cell.n]
    trained, metrics = train_and_evaluate(plan, plan.splits.train.images[subset], plan.splits.train.targets(subset),
                                          cell.seed, job["tests"], job["device"])
    return {"n": cell.n, "seed": cell.seed, "error": metrics[LOSSLESS]["error"],
            "train_sha256": trained["train_sha256"]}
