"""Storage curves: for each byte budget s, build real training sets by several schemes and train on them (rows in
the results dir's ``curve_cells``, one transaction each, so a re-run resumes). The schemes (``schemes/``: original,
optimal, naive-d<D>, randomized, and any registered) build each (scheme, s, seed) cell's set from the seed's nested
class-stratified order with the ``CurveBuilder`` here. Every size is the sum of real encoded bitstreams from the store;
every probe of a search is a cached store entry.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from storagebench.benchmarks.definition import load_config
from storagebench.benchmarks.harness.cells import curve_key
from storagebench.benchmarks.harness.knob import LevelKnob, bisect_log, knob_for
from storagebench.benchmarks.harness.results_dir import (
    open_results_dir,
    read_checked_config,
)
from storagebench.benchmarks.harness.rows import CurveCellRow
from storagebench.benchmarks.harness.runner import (
    Plan,
    check_results_dir,
    make_plan,
    parse_levels,
    prepare_codec,
    train_and_score,
    train_cells,
)
from storagebench.benchmarks.harness.schemes import default_schemes, parse_scheme
from storagebench.benchmarks.harness.store import (
    CompressedSetStore,
    StoredSet,
    decode_verified,
    describe_level,
)
from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.compressors import Level, level_label
from storagebench.compressors.decoding import decoder_for
from storagebench.compressors.state import declared_states
from storagebench.errors import StorageBenchError
from storagebench.log import say


SAMPLE = 128  # images whose sizes guide a level search of a larger set


@dataclass(frozen=True)
class CurveCell:
    scheme: str
    budget: float
    seed: int

    @property
    def key(self) -> str:
        return curve_key(self.scheme, self.budget, self.seed)


class DoesNotFit(StorageBenchError):
    """No set of this scheme fits the budget (not even one image, or the decoder state alone fills it)."""


@dataclass
class TrainingSet:
    """The first ``n`` items of ``entry`` (the seed's stratified order) at ``level``; ``decoder_bytes``: the level's
    declared decoder state, when the scheme counts it toward the budget."""

    entry: StoredSet
    n: int
    level: Level | list[Level]
    note: str = ""
    decoder_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return int(self.entry.sizes[:self.n].sum())

    @property
    def description(self) -> str:
        return describe_level(self.level) + (f" ({self.note})" if self.note else "")


class CurveBuilder:
    def __init__(self, plan: Plan, store: CompressedSetStore, law: ScalingLaw, workers: int,
                 grid_bytes: dict[Level, float] | None = None):
        self.plan, self.store, self.law, self.workers = plan, store, law, workers
        self.grid_bytes = grid_bytes or {}  # lossy grid level → its measured bytes per image (guides searches)
        self.probes = 0
        self._decoder_bytes: dict[str, int] = {}
        self.guesses: dict[tuple[str, float], Level] = {}  # (scheme, budget) → the level a search found

    @functools.cached_property
    def knob(self) -> LevelKnob:
        return knob_for(self.plan.codec)  # only schemes that search need one

    def entry(self, seed: int, n: int, level: Level | list[Level]) -> StoredSet:
        train = self.plan.splits.train
        entry, encoded = self.store.ensure(train.images, self.plan.orders[seed][:n], self.plan.codec, level,
                                           fingerprint=train.pixels_fingerprint, split="train", workers=self.workers)
        self.probes += encoded
        return entry

    def fill(self, seed: int, budget: float, level: Level) -> TrainingSet:
        """As many images at ``level`` as fit within ``budget`` (real bytes), growing the encoded prefix as needed."""
        entry, fitting = fill_prefix(lambda count: self.entry(seed, count, level), len(self.plan.splits.train),
                                     budget)
        if fitting == 0:
            raise DoesNotFit(f"budget {budget:.0f} bytes is smaller than one compressed image "
                             f"({entry.sizes[0]} bytes at {describe_level(level)})")
        return TrainingSet(entry, fitting, level)

    def decoder_bytes(self, level: Level) -> int:
        """The bytes of ``level``'s serialized declared decoder state, as the harness measures it."""
        label = describe_level(level)
        if label not in self._decoder_bytes:
            self._decoder_bytes[label] = len(declared_states(self.plan.codec, [level])[level_label(level)])
        return self._decoder_bytes[label]

    def estimates(self, n: int, decoder: Callable[[Level], int]) -> dict[Level, float]:
        """The total bytes of ``n`` images at each lossy grid level, estimated from the grid's measured bytes per
        image (a guide for a search, which checks every answer on the set's real bytes)."""
        return {level: per_image * n + decoder(level) for level, per_image in self.grid_bytes.items()}

    def sample_guess(self, seed: int, n: int, budget: float, decoder: Callable[[Level], int]) -> Level | None:
        """Where a search of the knob for ``n`` images should start: the level at which the first ``SAMPLE`` of
        them, scaled to ``n``, would fill ``budget`` (None for sets barely larger than the sample)."""
        if n < 2 * SAMPLE:
            return None
        scale = n / SAMPLE
        return self.knob.search(lambda lv: int(self.entry(seed, SAMPLE, lv).sizes.sum() * scale) + decoder(lv),
                                budget)

    def n_star(self, budget: float) -> tuple[int, str]:
        """n*(s) from the fit, capped at the training pool (and then said, in the note returned with it). Without a
        fit, or when it has no finite optimum, a benchmark with a ``[protocol]`` uses its declared fallback n."""
        try:
            if self.law is None:
                raise StorageBenchError("no scaling-law fit")
            n, note = int(round(optimal_n(self.law, budget))), ""
        except StorageBenchError as exc:
            protocol = self.plan.config.protocol
            if protocol is None:
                raise
            n = protocol.fallback_n or max(self.plan.config.n)
            note = f"declared fallback n = {n} ({str(exc).split(' (')[0]})"
        split = len(self.plan.splits.train)
        if n < len(self.plan.splits.classes):
            raise StorageBenchError(f"budget {budget:.0f} bytes: the fit's n* = {n} is fewer than one image per class")
        return (n, note) if n <= split else (split, joined(note, f"n* = {n} capped at the training pool"))

    def bisect(self, total: Callable[[float], int], budget: float, lo: float, hi: float) -> float | None:
        """Smallest x in [lo, hi] (log scale) with total(x) ≤ budget, assuming total falls as x grows."""
        if total(hi) > budget:
            return None
        if total(lo) <= budget:
            return lo
        return bisect_log(total, budget, hi, lo, lambda x: float(f"{x:.3g}"))

    def capped(self, seed: int, budget: float, n: int, level: Level, note: str = "") -> TrainingSet:
        """n* images do not fit even at the knob's smallest level: keep as many as do, at that level."""
        fill = self.fill(seed, budget, level)
        return TrainingSet(fill.entry, fill.n, fill.level,
                           note=joined(note, f"{n} images do not fit at the smallest level: as many as fit"))

    def build(self, cell: CurveCell) -> TrainingSet:
        return parse_scheme(cell.scheme).build(self, cell.seed, cell.budget)


def grid_bytes(plan: Plan, db: Any) -> dict[Level, float]:
    """Each lossy train level's bytes per image in the grid, from its cells with the most images."""
    levels = {level_label(lv): lv for lv in plan.train_levels if lv != plan.codec.original_level}
    cells = [cell for cell in db.cells() if cell.train_level in levels]
    most = {label: max(c.n for c in cells if c.train_level == label) for label in {c.train_level for c in cells}}
    return {levels[label]: float(np.mean([c.train_bytes_per_image for c in cells if c.train_level == label
                                          and c.n == n])) for label, n in most.items()}


def joined(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def fill_prefix(prefix: Callable[[int], StoredSet], split: int, budget: float) -> tuple[StoredSet, int]:
    """The stored prefix of the seed's order and how many of its first images fit within ``budget``, growing the
    encoded prefix (``prefix(count)``) until the images that fit are fewer than it holds, or it is the whole split."""
    count = min(split, 256)
    while True:
        entry = prefix(count)
        fitting = int(np.searchsorted(np.cumsum(entry.sizes), budget, side="right"))
        if fitting < count or count == split:
            return entry, fitting
        count = min(split, int(count * max(2.0, 1.2 * budget / max(entry.sizes.sum(), 1))))




def cell_row(cell: CurveCell, training: TrainingSet, label_sizes: np.ndarray) -> dict[str, Any]:
    sizes = training.entry.sizes[:training.n]
    return {"cell": cell.key, "scheme": cell.scheme, "budget": cell.budget, "seed": cell.seed, "n": training.n,
            "bytes_total": int(sizes.sum()), "label_bytes_total": int(label_sizes.sum()),
            "bytes_per_image": float(sizes.mean()), "decoder_bytes": training.decoder_bytes,
            "level": training.description,
            "train_manifest_sha256": training.entry.manifest_sha256}


def _train_curve_cell(job: dict[str, Any], cell: CurveCell) -> dict[str, Any]:
    plan: Plan = job["plan"]
    training: TrainingSet = job["sets"][cell.key]
    images = job["decoded"][training.entry.path][:training.n]
    subset = plan.orders[cell.seed][:training.n]
    trained, (evaluation,) = train_and_score(plan, images, plan.splits.train.targets(subset), cell.seed, job["test"],
                                           job["device"])
    trained.pop("history", None)  # kept for grid cells (W&B charts), not for storage-curve sets
    return {**cell_row(cell, training, plan.splits.train.target_sizes[subset]), **trained,
            "test_level": evaluation["test_level"], "error": evaluation["error"], "metrics": evaluation["metrics"]}


def run_curves(out: Path, budgets: list[float], naive: list[float], workers: int, cache_root: Path,
               law_for: Callable[[Path], ScalingLaw], data: str | None = None,
               only: list[str] | None = None) -> tuple[list[CurveCellRow], ScalingLaw]:
    """Train every pending (scheme, budget, seed) cell; the rows of all of them, and the law they were allocated by
    (``law_for(out)``: the fit of the grid the results dir holds, made once the definition is checked). ``only``:
    these schemes (``--schemes``) instead of every one that applies and the naive levels."""
    budgets, naive = list(dict.fromkeys(budgets)), list(dict.fromkeys(naive))
    read_checked_config(out)  # an edited config.toml is refused before anything it names is loaded
    plan = make_plan(load_config(out / "config.toml"), data)
    parse_levels(plan.codec, naive, "--naive")
    knob = knob_for(plan.codec)  # a codec with no level knob is refused before any work
    for text in only or ():
        scheme = parse_scheme(text, "--schemes")
        parse_levels(plan.codec, scheme.levels(), f"--schemes {text}")
        if not scheme.applies(knob):
            raise StorageBenchError(f"--schemes: {text} needs a codec with a level knob; this one has none")
    law = law_for(out)
    db, _ = open_results_dir(out, write=True)
    with db:
        check_results_dir(plan, db, out)
        schemes = [parse_scheme(t).label for t in dict.fromkeys(only)] if only else default_schemes(naive, knob)
        cells = [CurveCell(scheme, s, seed) for s in budgets for scheme in schemes for seed in plan.config.seeds]
        done = db.finished_cells(CurveCellRow)
        pending = [c for c in cells if c.key not in done]
        say(f"curves: {len(cells)} cells ({len(budgets)} budgets × {len(schemes)} schemes × "
            f"{len(plan.config.seeds)} seeds), {len(cells) - len(pending)} already done; {knob.describe()}")
        if pending:
            train_curve_cells(plan, law, pending, db, workers, cache_root)
        rows = [r for r in db.curve_rows() if r.cell in {c.key for c in cells}]
    return rows, law


def train_curve_cells(plan: Plan, law: ScalingLaw | None, pending: list[CurveCell], db: Any, workers: int,
                      cache_root: Path) -> None:
    store = CompressedSetStore(cache_root)
    builder = CurveBuilder(plan, store, law, workers, grid_bytes(plan, db))
    searching = any(parse_scheme(c.scheme).searches for c in pending)
    prepare_codec(plan, cache_root, workers, extra=builder.knob.levels_to_fit if searching else ())
    sets: dict[str, TrainingSet] = {}
    for cell in pending:
        started = time.perf_counter()
        try:
            sets[cell.key] = training = builder.build(cell)
        except DoesNotFit as exc:
            say(f"{cell.key}: no set fits, nothing to train: {exc}")
            continue
        if training.total_bytes + training.decoder_bytes > cell.budget:  # whatever a scheme builds, it fits s
            raise StorageBenchError(f"{cell.key}: the {cell.scheme} scheme built a set of {training.total_bytes} "
                                    f"bytes (+ {training.decoder_bytes} decoder bytes), more than s = "
                                    f"{cell.budget:.0f}")
        say(f"{cell.key}: n = {training.n}, {training.description}, {training.total_bytes} of "
            f"{cell.budget:.0f} bytes ({time.perf_counter() - started:.1f} s, {builder.probes} sets encoded so far)")
    pending = [cell for cell in pending if cell.key in sets]
    if not pending:
        return
    test = plan.splits.test
    test_entry, _ = store.ensure(test.images, np.arange(len(test)), plan.codec, plan.codec.original_level,
                                 fingerprint=test.pixels_fingerprint, split="test", workers=workers)
    entries = {t.entry.path: t.entry for t in sets.values()}
    levels = [plan.codec.original_level,
              *(lv for e in entries.values() for lv in (e.levels if isinstance(e.levels, list) else [e.levels]))]
    decoder, _ = decoder_for(plan.codec, levels, plan.config.compressor)
    decoded = {path: decode_verified(entry, decoder, plan.splits.train.images, workers)
               for path, entry in entries.items()}
    test_set = {plan.codec.original_level: (test_entry, decode_verified(test_entry, decoder, test.images, workers))}
    train_cells(plan, db, _train_curve_cell, pending, size=lambda c: sets[c.key].n, workers=workers,
                shared=dict(sets=sets, decoded=decoded, test=test_set),
                write=lambda row, run_id: db.write_curve_cell(CurveCellRow(run_id=run_id, **row)))
