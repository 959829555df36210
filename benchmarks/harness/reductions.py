"""Run a reduction benchmark: every (reducer, images per class, seed) cell reduces the training set (cached as
real files), trains the benchmark's recipe on the stored set and, for reducers with a protocol of their own (dataset
distillation's learned steps), that protocol too. Then the image codec of ``[compare]`` is measured at the reduced
sets' byte sizes (storage-curve schemes), so every way of spending the bytes lands on one axis. The driver alone
writes results, one transaction per cell, so a re-run resumes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.definition import LAW_KEYS, BenchmarkConfig, ReductionConfig, absolute_spec
from storagebench.benchmarks.harness.cells import reduced_key
from storagebench.benchmarks.harness.curves import CurveCell
from storagebench.benchmarks.harness.knob import knob_for
from storagebench.benchmarks.harness.reduced_store import ReducedStore
from storagebench.benchmarks.harness.rows import CurveCellRow, ReducedCellRow
from storagebench.benchmarks.harness.runner import (
    Plan,
    check_task_images,
    one_thread_per_cell,
    open_results,
    parse_levels,
    train_cells,
)
from storagebench.benchmarks.harness.schemes import parse_scheme
from storagebench.benchmarks.law.fit import law_from_dict
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.compressors import (
    COMPRESSORS,
    REDUCERS,
    DatasetReducer,
    ImageCodec,
    Level,
    Network,
    ReducedSet,
    level_label,
)
from storagebench.compressors.decoding import decoder_for
from storagebench.device import describe_device, on_device
from storagebench.errors import StorageBenchError
from storagebench.log import say
from storagebench.tasks import DATASETS, TASKS, LabelledSplits, Task
from storagebench.tasks.subsets import stratified_order


@dataclass(frozen=True)
class ReductionCell:
    label: str
    per_class: int
    seed: int

    @property
    def key(self) -> str:
        return reduced_key(self.label, self.per_class, self.seed)


@dataclass
class ReductionPlan:
    """A validated reduction benchmark: everything resolved and loaded, nothing written yet."""

    config: ReductionConfig
    splits: LabelledSplits
    task: Task
    reducers: dict[str, DatasetReducer]
    storage: dict[str, tuple[ImageCodec, Level]]
    compare: ImageCodec | None
    only_per_class: tuple[int, ...] = ()  # run just these settings now (the definition, and its hash, keep all)

    @property
    def cells(self) -> list[ReductionCell]:
        return [ReductionCell(r.label, ipc, seed) for r in self.config.reducers for ipc in r.images_per_class
                for seed in self.config.seeds if not self.only_per_class or ipc in self.only_per_class]

    def law(self) -> ScalingLaw | None:
        spec = self.config.compare
        return law_from_dict(spec.law) if spec and spec.law else None


def _codec_level(name: str, params: dict[str, Any], level: Any, where: str) -> tuple[ImageCodec, Level]:
    codec = COMPRESSORS.create(name, params, where)
    return codec, parse_levels(codec, [level], f"{where}.level")[0]


def make_reduction_plan(config: ReductionConfig, data: str | None = None,
                        only_per_class: tuple[int, ...] = ()) -> ReductionPlan:
    """Resolve names, validate every value and load the data; raise StorageBenchError before any write.
    ``only_per_class`` keeps the cells of those settings (a run in parts; the results dir is the same)."""
    source = config.source
    task = TASKS.create(config.task, config.task_params, f"{source}: [task]")
    if config.task != "classification":
        raise StorageBenchError(f"{source}: [task].name: reduction benchmarks need a classification task, got "
                                f"{config.task!r}")
    reducers, storage, specs = {}, {}, []
    for i, spec in enumerate(config.reducers):
        where = f"{source}: [[reducer]] #{i + 1}"
        reducers[spec.label] = REDUCERS.create(spec.name, spec.params, where)
        storage[spec.label] = _codec_level(spec.storage[0], {}, spec.storage[1], where)
        specs.append(dataclasses.replace(spec, params=dataclasses.asdict(reducers[spec.label].params),
                                         storage=(spec.storage[0], storage[spec.label][1])))
    compare = None
    if config.compare:
        compare = COMPRESSORS.create(config.compare.compressor, config.compare.params, f"{source}: [compare]")
        check_compare_schemes(compare, config.compare, f"{source}: [compare]")
    unknown = sorted(set(only_per_class) - set(config.images_per_class))
    if unknown:
        raise StorageBenchError(f"--images-per-class: {unknown} not in [benchmark].images_per_class "
                                f"{list(config.images_per_class)} of {source}")
    dataset = DATASETS.create(config.dataset, {**config.dataset_params, **({"path": data} if data else {})},
                              f"{source}: [dataset]")
    splits = dataset.load()
    if not splits.train.target.per_class_only:
        raise StorageBenchError(f"{source}: [dataset]: reduction benchmarks need a classification dataset (this one "
                                f"has {splits.train.target.kind})")
    preprocess = getattr(task.params, "preprocess", None)
    if preprocess is not None and preprocess.changes_size:
        raise StorageBenchError(f"{source}: [task]: reducers make images at the stored size, so a reduction "
                                f"benchmark trains on images as stored: remove [task].resize and crop")
    check_task_images(task, splits, source)
    resolved = dataclasses.replace(
        config, reducers=tuple(specs), dataset_params=dataclasses.asdict(dataset.params),
        task_params=dataclasses.asdict(task.params),
        compare=config.compare and dataclasses.replace(
            config.compare, compressor=absolute_spec(config.compare.compressor),
            params=dataclasses.asdict(compare.params)))
    return ReductionPlan(resolved, splits, task, reducers, storage, compare, tuple(only_per_class))


def task_network(plan: ReductionPlan) -> Network:
    """Fresh models of the benchmark's task for the reducers: ``build(seed)`` seeds torch, then builds."""
    import torch

    from storagebench.tasks.training import to_tensor

    shape = plan.splits.train.images.shape[1:]
    channels = 1 if len(shape) == 2 else shape[2]

    def build(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        return plan.task.build(channels, len(plan.splits.classes), shape[:2])

    return Network(build=build, to_input=to_tensor,
                   identity={"task": plan.task.name, "params": dataclasses.asdict(plan.task.params)})


def _reduction_key(plan: ReductionPlan, cell: ReductionCell, network: Network) -> dict[str, Any]:
    codec, level = plan.storage[cell.label]
    return {"dataset_fingerprint": plan.splits.train.fingerprint, "reducer": plan.reducers[cell.label].identity(),
            "images_per_class": cell.per_class, "seed": cell.seed, "network": network.identity,
            "storage": codec.identity(), "level": level}


def _evaluate(plan: ReductionPlan, reducer: DatasetReducer, reduced: ReducedSet, network: Network,
              seed: int, device: tuple[str, bool]) -> dict[str, Any]:
    """The recipe's model on the stored set (on ``device``), and the reducer's own protocol where it has one (on
    the CPU, where reducers compute), on the test split."""
    test = plan.splits.test
    with on_device(*device):
        started = time.perf_counter()
        model = plan.task.train(reduced.images, reduced.labels, len(plan.splits.classes), seed=seed)
        trained = time.perf_counter()
        metrics = plan.task.evaluate(model, test.images, test.labels)
        where = describe_device()
    own = reducer.own_protocol(reduced, network, seed)
    own_metrics = plan.task.evaluate(own, test.images, test.labels) if own is not None else None
    return {"steps": plan.task.steps_for(len(reduced.images)), "device": where,
            "train_seconds": round(trained - started, 3),
            "eval_seconds": round(time.perf_counter() - trained, 3), "error": metrics["error"],
            "own_error": own_metrics["error"] if own_metrics else None,
            "metrics": {"recipe": metrics, **({"own_protocol": own_metrics} if own_metrics else {})}}


def _reduce_and_score(job: dict[str, Any], cell: ReductionCell) -> dict[str, Any]:
    """One cell, in a worker: reduce (or reuse the stored set) on the CPU, train on what is stored and evaluate on
    the requested device."""
    one_thread_per_cell()
    plan: ReductionPlan = job["plan"]
    reducer, (codec, level) = plan.reducers[cell.label], plan.storage[cell.label]
    train, network = plan.splits.train, task_network(plan)
    stored, made = ReducedStore(job["cache_root"]).ensure(
        _reduction_key(plan, cell, network), lambda: reducer.reduce(train.images, train.labels, cell.per_class,
                                                                    cell.seed, network),
        codec, level, len(plan.splits.classes))
    spec = next(s.storage[0] for s in plan.config.reducers if s.label == cell.label)
    reduced = stored.load(decoder_for(codec, [level], spec)[0])  # the stored bytes, decoded: what a user gets
    sizes = stored.bytes_on_disk()
    digest = hashlib.sha256(np.ascontiguousarray(reduced.images).data)
    digest.update(reduced.labels.astype(np.int64).data)
    return {"cell": cell.key, "reducer": cell.label, "method": reducer.name, "images_per_class": cell.per_class,
            "seed": cell.seed, "n": len(reduced.images), "bytes_total": sizes["total"],
            "image_bytes": sizes["images"], "label_bytes": sizes["labels"], "extra_bytes": sizes["extra"],
            "storage": f"{codec.name} {level_label(level)}",
            "payload_sha256": hashlib.sha256(json.dumps(stored.manifest["files"], sort_keys=True).encode()).hexdigest(),
            "train_sha256": digest.hexdigest(), "reduce_seconds": stored.manifest["reduce_seconds"],
            **_evaluate(plan, reducer, reduced, network, cell.seed, job["device"]),
            "info": {**stored.manifest["info"], "reused": not made},
            "versions": {**reducer.library_versions(), **stored.manifest["codec_versions"]}}


def _cost(plan: ReductionPlan, cell: ReductionCell) -> float:
    """Rough relative cost, to start the slowest cells first: learned sets cost per iteration and image."""
    params = plan.reducers[cell.label].params
    return getattr(params, "iterations", 100) * (cell.per_class if plan.reducers[cell.label].synthetic else 1)


SIZE_GROUP = 1.10  # reduced sets within 10 % of the smallest in their group share one budget


def budgets_from(rows: list[ReducedCellRow], plan: ReductionPlan) -> list[float]:
    """For each images-per-class setting whose cells are all done, the reduced sets' sizes grouped (sets within
    ``SIZE_GROUP`` of the group's smallest: e.g. random and herding, or DM and DD), one budget per group: its largest
    set's total bytes. So every reduced set has a codec measurement at about its own size, never below it."""
    budgets = []
    for ipc in plan.config.images_per_class:
        keys = {c.key for c in plan.cells if c.per_class == ipc}
        done = [r for r in rows if r.cell in keys]
        if not keys or len(done) < len(keys):
            continue
        sizes = sorted(max(r.bytes_total for r in done if r.reducer == label)
                       for label in {r.reducer for r in done})
        group: list[int] = []
        for size in sizes:
            if group and size > SIZE_GROUP * group[0]:
                budgets.append(float(group[-1]))
                group = []
            group.append(size)
        budgets.append(float(group[-1]))
    return budgets


def compare_plan(plan: ReductionPlan) -> Plan:
    """The ``[compare]`` codec as a grid plan with the reduction benchmark's task and data: what the storage-curve
    builder and trainer take."""
    spec, codec = plan.config.compare, plan.compare
    original = codec.original_level
    config = BenchmarkConfig(
        name=plan.config.name, description=f"{spec.compressor} at the reduced sets' byte sizes",
        seeds=plan.config.seeds, n=(1,), dataset=plan.config.dataset, compressor=spec.compressor,
        task=plan.config.task, train_levels=(original,), test_levels=(original,),
        dataset_params=plan.config.dataset_params, compressor_params=spec.params, task_params=plan.config.task_params,
        source=plan.config.source)
    orders = {seed: stratified_order(plan.splits.train.labels, seed) for seed in plan.config.seeds}
    return Plan(config, plan.splits, codec, plan.task, [original], [original], orders)


def check_compare_schemes(codec: ImageCodec, spec: Any, where: str) -> None:
    """Every [compare] scheme known, its levels valid for the codec, a law for those that allocate by it and a
    searchable level for those that search; refused before any work."""
    schemes = [parse_scheme(s, f"{where}.schemes") for s in spec.schemes]
    parse_levels(codec, [level for s in schemes for level in s.levels()], f"{where}.schemes")
    needing = [s.label for s in schemes if s.needs_law]
    if needing and spec.law is None:
        raise StorageBenchError(f"{where}.law: the {', '.join(needing)} scheme(s) need the fitted law's numbers "
                                f"{{{', '.join(LAW_KEYS)}}}")
    knob = knob_for(codec) if any(s.searches for s in schemes) else None  # refuses a codec with no knob
    unfit = [s.label for s in schemes if not s.applies(knob)]
    if unfit:
        raise StorageBenchError(f"{where}.schemes: {', '.join(unfit)} cannot search {codec.name}'s levels "
                                f"({knob.describe()})")


def run_reduction(plan: ReductionPlan, out: Path, cache_root: Path, workers: int) -> dict[str, int]:
    """Train the pending reduction cells, then the pending codec cells at the budgets they define."""
    from storagebench.benchmarks.harness.curves import train_curve_cells

    db = open_results(plan, out, {"kind": "reduction"})
    counts = {"reduced": 0, "skipped": 0, "compare": 0}
    try:
        done = db.finished_cells(ReducedCellRow)
        pending = [c for c in plan.cells if c.key not in done]
        counts["skipped"] = len(plan.cells) - len(pending)
        if pending:
            say(f"{len(pending)} reduction cells to run ({counts['skipped']} already done)")
            train_cells(plan, db, _reduce_and_score, pending, size=lambda c: _cost(plan, c), workers=workers,
                        shared={"cache_root": cache_root},
                        write=lambda row, run_id: (db.write_reduced_cell(ReducedCellRow(run_id=run_id, **row)),
                                                   counts.__setitem__("reduced", counts["reduced"] + 1)))
        if plan.compare is not None:
            budgets = budgets_from(db.reduced_rows(), plan)
            cells = [CurveCell(scheme, budget, seed) for budget in budgets
                     for scheme in plan.config.compare.schemes for seed in plan.config.seeds]
            finished = db.finished_cells(CurveCellRow)
            todo = [c for c in cells if c.key not in finished]
            if todo:
                say(f"{plan.compare.name} at the reduced sets' sizes: {len(todo)} cells "
                    f"({', '.join(f'{b:.0f} bytes' for b in budgets)})")
                train_curve_cells(compare_plan(plan), plan.law(), todo, db, workers, cache_root)
                counts["compare"] = len(todo)
    finally:
        db.close()
    return counts
