"""Plan and run a benchmark grid: every (train level, n, seed) cell trains once on images decoded from the
store and is evaluated at every test level; the driver alone writes results, one transaction per cell."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import tomli_w

from storagebench.atomic import write_text_atomic
from storagebench.benchmarks.definition import BenchmarkConfig, absolute_spec
from storagebench.benchmarks.harness.cell_log import CellLog
from storagebench.benchmarks.harness.cells import grid_key
from storagebench.benchmarks.harness.results import ResultsDB
from storagebench.benchmarks.harness.rows import CellRow, EvaluationRow
from storagebench.benchmarks.harness.store import (
    CompressedSetStore,
    StoredSet,
    summarise_info,
)
from storagebench.compressors import COMPRESSORS, ImageCodec, Level, level_label
from storagebench.compressors.decoding import decoder_for
from storagebench.device import describe_device, on_device, requested_device
from storagebench.errors import StorageBenchError
from storagebench.log import say
from storagebench.parallel import active_executor, parallel_map
from storagebench.provenance import git_commit, library_versions, machine
from storagebench.tasks import DATASETS, TASKS, LabelledSplits, Task
from storagebench.tasks.subsets import stratified_order


@dataclass(frozen=True)
class Cell:
    level: Level
    n: int
    seed: int

    @property
    def key(self) -> str:
        return grid_key(level_label(self.level), self.n, self.seed)


@dataclass
class Plan:
    """A validated benchmark: everything is resolved and loaded, nothing is written yet."""

    config: BenchmarkConfig  # resolved: every default filled in
    splits: LabelledSplits
    codec: ImageCodec
    task: Task
    train_levels: list[Level]
    test_levels: list[Level]
    orders: dict[int, np.ndarray] = field(repr=False)

    @property
    def cells(self) -> list[Cell]:
        return [Cell(level, n, seed) for level in self.train_levels for n in self.config.n
                for seed in self.config.seeds]

    @property
    def train_pool(self) -> np.ndarray:
        """Training indices any cell may use (the largest subset of every seed), sorted: encoded once."""
        largest = max(self.config.n)
        return np.unique(np.concatenate([self.orders[seed][:largest] for seed in self.config.seeds]))


def parse_levels(codec: ImageCodec, values: Iterable[Any], where: str) -> list[Level]:
    """Validated levels; a level given twice (e.g. 4 and 4.0) is an error, not a second cell."""
    try:
        levels = [codec.parse_level(v) for v in values]
    except ValueError as exc:
        raise StorageBenchError(f"{where}: {exc}") from exc
    labels = [level_label(level) for level in levels]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise StorageBenchError(f"{where}: level(s) {', '.join(repeated)} given more than once")
    return levels


def check_task_images(task: Task, splits: LabelledSplits, source: str) -> None:
    """The task can take the data's images (their sizes against its preprocessing) and targets, before anything is
    written."""
    try:
        task.check_targets(splits.train.target.kind)
        task.check_images([(name, s.images, s.names) for name, s in (("train", splits.train), ("test", splits.test))])
    except StorageBenchError as exc:
        raise StorageBenchError(f"{source}: {exc}") from None


def make_plan(config: BenchmarkConfig, data: str | None = None) -> Plan:
    """Resolve names, validate every value and load the data; raise StorageBenchError before any write."""
    dataset_params = {**config.dataset_params, **({"path": data} if data else {})}
    dataset = DATASETS.create(config.dataset, dataset_params, f"{config.source}: [dataset]")
    codec = COMPRESSORS.create(config.compressor, config.compressor_params, f"{config.source}: [compressor]")
    task = TASKS.create(config.task, config.task_params, f"{config.source}: [task]")
    train_levels = parse_levels(codec, config.train_levels, f"{config.source}: [compressor].train_levels")
    test_levels = parse_levels(codec, config.test_levels, f"{config.source}: [compressor].test_levels")
    if codec.original_level not in test_levels:
        raise StorageBenchError(f"{config.source}: [compressor].test_levels must include the original format "
                                f"{codec.original_level!r}: the scaling-law fit uses it")
    task.fetch_weights()
    splits = dataset.load()
    check_task_images(task, splits, config.source)
    if max(config.n) > len(splits.train):
        raise StorageBenchError(f"{config.source}: [benchmark].n: {max(config.n)} is larger than the training "
                                f"split ({len(splits.train)} images)")
    resolved = dataclasses.replace(
        config, compressor=absolute_spec(config.compressor), dataset_params=dataclasses.asdict(dataset.params),
        compressor_params=dataclasses.asdict(codec.params), task_params=dataclasses.asdict(task.params),
        train_levels=tuple(train_levels), test_levels=tuple(test_levels))
    orders = {seed: stratified_order(splits.train.labels, seed) for seed in config.all_seeds}
    return Plan(resolved, splits, codec, task, train_levels, test_levels, orders)


def check_results_dir(plan: Plan, db: ResultsDB, out: Path) -> None:
    """Refuse a results dir made by a different benchmark definition or on different data."""
    stored = db.meta("config_hash")
    if stored is not None and stored != plan.config.identity_hash():
        raise StorageBenchError(f"{out}: holds results of a different benchmark definition (see its config.toml); "
                                f"choose another --out")
    for key, value in data_fingerprints(plan).items():
        if db.meta(key) not in (None, value):
            raise StorageBenchError(f"{out}: was run on different data ({key} differs); choose another --out")


def data_fingerprints(plan: Plan) -> dict[str, str]:
    return {"train_fingerprint": plan.splits.train.fingerprint, "test_fingerprint": plan.splits.test.fingerprint}


def write_config(out: Path, table: dict[str, Any]) -> None:
    """``out/config.toml``, the resolved definition, replaced atomically."""
    write_text_atomic(out / "config.toml", tomli_w.dumps(table))


def _open_results(plan: Plan, out: Path) -> ResultsDB:
    return open_results(plan, out, {"original_level": level_label(plan.codec.original_level),
                                    "compressor": json.dumps({"name": plan.codec.name, "version": plan.codec.version})})


def open_results(plan: Any, out: Path, meta: dict[str, str]) -> ResultsDB:
    """Create or re-open a results dir for ``plan`` (a grid or a reduction plan); ``meta`` is recorded on creation
    beside the definition's hash and the data's fingerprints."""
    out.mkdir(parents=True, exist_ok=True)
    db = ResultsDB(out / "results.sqlite")
    try:
        check_results_dir(plan, db, out)
    except StorageBenchError:
        db.close()
        raise
    write_config(out, plan.config.as_toml())  # rewritten each run: budgets (not in the identity) may have changed
    if db.meta("config_hash") is None:
        db.set_meta({"config_hash": plan.config.identity_hash(), "benchmark": plan.config.name, **meta,
                     **data_fingerprints(plan)})
    return db


@dataclass
class RunReport:
    cells_total: int
    cells_skipped: int = 0
    cells_trained: int = 0
    entries_encoded: int = 0
    images_encoded: int = 0
    entries_reused: int = 0


def _ensure(plan: Plan, store: CompressedSetStore, split: str, indices: np.ndarray, level: Level,
            workers: int, report: RunReport) -> StoredSet:
    images = plan.splits.split(split)
    entry, encoded = store.ensure(images.images, indices, plan.codec, level, fingerprint=images.pixels_fingerprint,
                                  split=split, workers=workers)
    if encoded:
        report.entries_encoded += 1
        report.images_encoded += len(indices)
        info = "".join(f", {key} {v['mean']:.3g} ± {v['sd']:.2g}" for key, v in
                       entry.manifest.get("info_summary", {}).items())
        say(f"encoded {split} at {level_label(level)}: {len(indices)} images, "
            f"{entry.sizes.mean():.1f} bytes/image, {entry.manifest['encode_seconds']:.1f} s{info}")
    else:
        report.entries_reused += 1
    return entry


def train_and_evaluate(plan: Plan, images: np.ndarray, targets: Any, seed: int, tests: dict[str, np.ndarray],
                       device: tuple[str, bool] = ("cpu", False)) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Train one model on ``images`` and evaluate it on each test set (label → images): the record of its training
    and each test set's metrics. ``device`` is the (``--device``, ``--amp``) choice, resolved here, where it runs."""
    one_thread_per_cell()
    with on_device(*device):
        started = time.perf_counter()
        model = plan.task.train(images, targets, len(plan.splits.classes), seed=seed)
        trained = time.perf_counter()
        metrics = {label: plan.task.evaluate(model, test_images, plan.splits.test.targets())
                   for label, test_images in tests.items()}
        where = describe_device()
    return {"train_sha256": plan.splits.train.training_digest(images, targets), "steps": plan.task.steps_for(len(images)),
            "device": where, "history": getattr(model, "training_history", {}),
            "train_seconds": round(trained - started, 3),
            "eval_seconds": round(time.perf_counter() - trained, 3)}, metrics


def train_and_score(plan: Plan, images: np.ndarray, targets: Any, seed: int,
                    tests: dict[Level, tuple[StoredSet, np.ndarray]],
                    device: tuple[str, bool] = ("cpu", False)) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``train_and_evaluate`` on decoded test sets from the store: the unit of work of a cell, with each
    evaluation's test manifest and bytes."""
    decoded = {level_label(level): test_images for level, (_, test_images) in tests.items()}
    trained, metrics = train_and_evaluate(plan, images, targets, seed, decoded, device)
    evaluations = [{"test_level": level_label(level), "test_manifest_sha256": entry.manifest_sha256,
                    "test_bytes_per_image": float(entry.sizes.mean()), "error": metrics[level_label(level)]["error"],
                    "metrics": metrics[level_label(level)]} for level, (entry, _) in tests.items()]
    return trained, evaluations


def one_thread_per_cell() -> None:
    """Each cell computes on one core: its numbers do not depend on how many workers run beside it."""
    import torch

    torch.set_num_threads(1)


def _train_cell(job: dict[str, Any], cell: Cell) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    plan: Plan = job["plan"]
    pool_index, (train_entry, train_images) = job["pool_index"], job["train"][cell.level]
    subset = plan.orders[cell.seed][:cell.n]
    positions = np.searchsorted(pool_index, subset)
    trained, evaluations = train_and_score(plan, train_images[positions], plan.splits.train.targets(subset),
                                           cell.seed, job["test"], job["device"])
    decoder = job["decoder_bytes"][level_label(cell.level)]  # measured: the serialized declared state
    total = int(train_entry.sizes[positions].sum()) + (decoder if plan.config.count_decoder_bytes else 0)
    row = {"cell": cell.key, "train_level": level_label(cell.level), "n": cell.n, "seed": cell.seed,
           "train_bytes_per_image": total / cell.n, "train_bytes_total": total,
           "train_label_bytes_total": int(plan.splits.train.target_sizes[subset].sum()),
           "train_manifest_sha256": train_entry.manifest_sha256, "decoder_bytes": decoder,
           "codec_info": item_info_summary(train_entry, positions),
           "codec_versions": train_entry.manifest["library_versions"], **trained}
    return row, evaluations


def item_info_summary(entry: StoredSet, positions: np.ndarray) -> dict[str, dict[str, float]]:
    """What the codec reported per image (e.g. achieved Butteraugli distances), summarised over these items."""
    columns = entry.manifest.get("item_info", {})
    return summarise_info([{key: values[p] for key, values in columns.items()} for p in positions])[1]


def prepare_codec(plan: Plan, cache_root: Path, workers: int = 1, extra: tuple[Level, ...] = ()) -> None:
    """Let a codec that learns from data (a learned codec) fit on the training images every cell may use, for the
    levels the benchmark uses (and ``extra`` ones a search may try); its checkpoints are cached beside the store,
    keyed by content."""
    levels = list(dict.fromkeys([*plan.train_levels, *plan.test_levels, *extra]))
    plan.codec.fit(plan.splits.train.images[plan.train_pool], levels, cache_root / "codecs", workers)


def train_cells(plan: Plan, db: ResultsDB, train_one: Callable[[dict[str, Any], Any], Any], cells: list,
                size: Callable[[Any], int], workers: int, shared: dict[str, Any],
                write: Callable[[Any, int], None]) -> None:
    """Run ``train_one(job, cell)`` for every cell on the active executor, largest first so every core stays busy
    to the end; ``job`` is the plan, ``shared`` and the requested device. The driver alone calls
    ``write(result, run_id)`` for each, as it arrives."""
    executor = active_executor()
    device = requested_device()
    where = {**machine(), **executor.describe(), "device": device[0], "amp": device[1]}
    run_id = db.start_run(plan.config.identity_hash(), git_commit(), library_versions(), where, workers)
    plan.splits.train.target_sizes  # noqa: B018  (computed once here, not in every worker)
    job = {"plan": plan, "device": device, **shared}
    for result in parallel_map(functools.partial(_naming_cell, train_one), job, sorted(cells, key=lambda c: -size(c)),
                               workers=workers, total=len(cells), desc="train cells", unit="cell", ordered=False,
                               gpu=True):
        write(result, run_id)


def _naming_cell(train_one: Callable[[dict[str, Any], Any], Any], job: dict[str, Any], cell: Any) -> Any:
    """``train_one(job, cell)``; a problem it reports names the cell (every cell type has a ``key``)."""
    try:
        return train_one(job, cell)
    except StorageBenchError as exc:
        raise StorageBenchError(f"cell {cell.key}: {exc}") from None


def _record_baselines(plan: Plan, db: ResultsDB, store: CompressedSetStore, workers: int) -> None:
    """The leaderboard's baselines: the grid subsets' real sizes in fixed lossless formats (once per results dir)."""
    from storagebench.benchmarks.harness.baselines import (
        BASELINE_FORMATS,
        measure_baselines,
    )

    if db.meta("baselines") is None:
        say(f"baselines: sizes of the grid's subsets as {' and '.join(f'lossless {f}' for f in BASELINE_FORMATS.values())}")
        db.set_meta({"baselines": json.dumps(measure_baselines(plan, store, workers))})


def run(plan: Plan, out: Path, cache_root: Path, workers: int,
        on_cell: Callable[[CellRow, list[EvaluationRow]], None] | None = None,
        memory_bytes: int | None = None) -> RunReport:
    """Train the plan's pending cells into ``out``; ``on_cell(cell, evaluations)`` is called after each is saved.
    Decoded sets larger than ``memory_bytes`` (default: half the memory available) are read on access."""
    from storagebench.benchmarks.harness.baselines import record_baseline_errors

    fresh = not (out / "results.sqlite").exists()
    db = _open_results(plan, out)
    try:
        store = CompressedSetStore(cache_root)
        _record_baselines(plan, db, store, workers)
        done = db.finished_cells()
        pending = [c for c in plan.cells if c.key not in done]
        report = RunReport(len(plan.cells), cells_skipped=len(plan.cells) - len(pending))
        if not pending:
            say(f"all {report.cells_total} cells already done: nothing to encode or train")
        elif report.cells_skipped:
            say(f"resuming: {report.cells_skipped} of {report.cells_total} cells already done, "
                f"{len(pending)} to train")
        if pending:
            _train_grid(plan, db, store, pending, workers, cache_root, report, on_cell, memory_bytes)
        record_baseline_errors(plan, db, workers)
    except BaseException:
        if fresh and not db.finished_cells():
            _discard_results_dir(db, out)  # e.g. an unreadable image met while encoding: nothing half-written
            db = None
        raise
    finally:
        if db is not None:
            db.close()
    return report


def _discard_results_dir(db: ResultsDB, out: Path) -> None:
    """Remove what a run that failed before its first cell wrote into a results dir it created (the store is
    atomic by itself); the dir goes too when nothing else is in it."""
    db.close()
    for name in ("results.sqlite", "results.sqlite-wal", "results.sqlite-shm", "results.sqlite-journal",
                 "config.toml", "run.log", ".lock"):
        (out / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        out.rmdir()


def _train_grid(plan: Plan, db: ResultsDB, store: CompressedSetStore, pending: list[Cell], workers: int,
                cache_root: Path, report: RunReport, on_cell: Callable[[CellRow, list[EvaluationRow]], None] | None,
                memory_bytes: int | None = None) -> None:
    """Fit the codec, encode (or reuse) the sets the pending cells need, decode them once (or read them on access
    when they do not fit in memory), train the cells."""
    from storagebench.benchmarks.harness.streaming import readable_sets

    prepare_codec(plan, cache_root, workers)
    decoder, decoder_bytes = decoder_for(plan.codec, [*dict.fromkeys(c.level for c in pending), *plan.test_levels],
                                         plan.config.compressor)
    pool_index = plan.train_pool
    test_index = np.arange(len(plan.splits.test))
    entries = {"train": {level: _ensure(plan, store, "train", pool_index, level, workers, report)
                         for level in dict.fromkeys(c.level for c in pending)},
               "test": {level: _ensure(plan, store, "test", test_index, level, workers, report)
                        for level in plan.test_levels}}
    decoded = readable_sets(entries, decoder, plan.splits, workers, memory_bytes)

    log = CellLog(db.path.parent, len(pending))

    def write(result: tuple[dict[str, Any], list[dict[str, Any]]], run_id: int) -> None:
        cell = CellRow(run_id=run_id, **result[0])
        evaluations = [EvaluationRow(cell=cell.cell, **e) for e in result[1]]
        db.write_cell(cell, evaluations)
        report.cells_trained += 1
        log(cell, evaluations)
        if on_cell is not None:
            on_cell(cell, evaluations)

    train_cells(plan, db, _train_cell, pending, size=lambda c: c.n, workers=workers,
                shared=dict(pool_index=pool_index, decoder_bytes=decoder_bytes, **decoded), write=write)
