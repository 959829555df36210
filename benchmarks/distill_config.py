"""Reduction benchmarks (coresets, dataset distillation) are TOML files too; a ``[[reducer]]`` array marks one:

    [benchmark]  name, description, seeds, images_per_class
    [dataset]    name + the reader's keys
    [storage]    compressor, level: how every reduced set's images are stored (PNG by default)
    [[reducer]]  name + the reducer's keys; optional label (unique; default: the name), images_per_class (a subset
                 of the benchmark's), compressor and level (this reducer's own storage: "distil then compress")
    [compare]    compressor + the codec's keys, schemes ("original", "optimal", "naive-d<D>"), law (the scaling-law
                 parameters "optimal" allocates by): image codecs measured at the reduced sets' byte sizes
    [task]       name + model and training-recipe keys: the recipe every reduced set is evaluated with
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storagebench.benchmarks.config import _int_list, _section, _take_name
from storagebench.errors import StorageBenchError
from storagebench.paths import name_problem
from storagebench.provenance import stable_hash

SECTIONS = ("benchmark", "dataset", "storage", "reducer", "compare", "task")
LAW_KEYS = ("e_star", "A", "alpha", "B", "beta")


def is_reduction(data: dict[str, Any]) -> bool:
    return "reducer" in data


@dataclass(frozen=True)
class ReducerSpec:
    label: str
    name: str
    params: dict[str, Any]
    images_per_class: tuple[int, ...]
    storage: tuple[str, Any]  # (image codec name, level)

    def as_toml(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "images_per_class": list(self.images_per_class),
                "compressor": self.storage[0], "level": self.storage[1], **self.params}


@dataclass(frozen=True)
class CompareSpec:
    compressor: str
    params: dict[str, Any]
    schemes: tuple[str, ...]
    law: dict[str, float] | None

    def as_toml(self) -> dict[str, Any]:
        return {"compressor": self.compressor, "schemes": list(self.schemes), **self.params,
                **({"law": self.law} if self.law else {})}


@dataclass(frozen=True)
class ReductionConfig:
    name: str
    description: str
    seeds: tuple[int, ...]
    images_per_class: tuple[int, ...]
    dataset: str
    task: str
    reducers: tuple[ReducerSpec, ...]
    compare: CompareSpec | None = None
    dataset_params: dict[str, Any] = field(default_factory=dict)
    task_params: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def as_toml(self) -> dict[str, Any]:
        return {"benchmark": {"name": self.name, "description": self.description, "seeds": list(self.seeds),
                              "images_per_class": list(self.images_per_class)},
                "dataset": {"name": self.dataset, **self.dataset_params},
                "reducer": [r.as_toml() for r in self.reducers],
                **({"compare": self.compare.as_toml()} if self.compare else {}),
                "task": {"name": self.task, **self.task_params}}

    def identity_hash(self) -> str:
        return reduction_identity_hash(self.as_toml())


def reduction_identity_hash(table: dict[str, Any]) -> str:
    """Everything in a reduction definition's table (``as_toml``, or a results dir's ``config.toml``) that changes
    results: all but the dataset's location."""
    table = {**table, "dataset": {k: v for k, v in table["dataset"].items() if k != "path"}}
    return stable_hash(table)


def _reducer(table: Any, index: int, default_ipc: tuple[int, ...], storage: tuple[str, Any],
             path: Path) -> ReducerSpec:
    where = f"{path}: [[reducer]] #{index + 1}"
    if not isinstance(table, dict):
        raise StorageBenchError(f"{where}: expected a table")
    table = dict(table)
    name = _take_name(table, "reducer", path)
    label = table.pop("label", name)
    if not isinstance(label, str) or not re.fullmatch(r"[A-Za-z0-9_.+-]+", label):
        raise StorageBenchError(f"{where}.label: letters, digits and _.+- only, got {label!r}")
    ipc = _int_list(table.pop("images_per_class", list(default_ipc)), f"{where}.images_per_class", 1)
    if not set(ipc) <= set(default_ipc):
        raise StorageBenchError(f"{where}.images_per_class: {sorted(set(ipc) - set(default_ipc))} not in "
                                f"[benchmark].images_per_class {list(default_ipc)}")
    own = (table.pop("compressor", storage[0]), table.pop("level", storage[1]))
    return ReducerSpec(label, name, table, tuple(sorted(ipc)), own)


def _compare(table: Any, path: Path) -> CompareSpec | None:
    if table is None:
        return None
    where = f"{path}: [compare]"
    if not isinstance(table, dict):
        raise StorageBenchError(f"{where}: expected a table")
    table = dict(table)
    compressor = table.pop("compressor", None)
    if not isinstance(compressor, str) or not compressor:
        raise StorageBenchError(f"{where}.compressor must name a registered image codec")
    schemes = table.pop("schemes", ["original"])
    if not isinstance(schemes, list) or not schemes or not all(
            isinstance(s, str) and (s in ("original", "optimal") or re.fullmatch(r"naive-d[0-9.]+", s))
            for s in schemes):
        raise StorageBenchError(f'{where}.schemes: a list of "original", "optimal", "naive-d<D>", got {schemes!r}')
    law = table.pop("law", None)
    if "optimal" in schemes and (not isinstance(law, dict) or set(law) != set(LAW_KEYS) or not all(
            isinstance(law[k], (int, float)) and not isinstance(law[k], bool) for k in LAW_KEYS)):
        raise StorageBenchError(f"{where}.law: the \"optimal\" scheme needs the fitted law's numbers "
                                f"{{{', '.join(LAW_KEYS)}}}, got {law!r}")
    return CompareSpec(compressor, table, tuple(dict.fromkeys(schemes)),
                       {k: float(law[k]) for k in LAW_KEYS} if law else None)


def parse_reduction(data: dict[str, Any], path: Path) -> ReductionConfig:
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise StorageBenchError(f"{path}: unknown table(s) {', '.join(unknown)}; valid: {', '.join(SECTIONS)}")
    bench, dataset, task = (_section(data, s, path) for s in ("benchmark", "dataset", "task"))
    extra = sorted(set(bench) - {"name", "description", "seeds", "images_per_class"})
    if extra:
        raise StorageBenchError(f"{path}: [benchmark] has unknown key(s) {', '.join(extra)}; "
                                f"valid: name, description, seeds, images_per_class")
    if not isinstance(bench.get("name"), str) or not bench["name"]:
        raise StorageBenchError(f"{path}: [benchmark].name must be a non-empty string")
    problem = name_problem(bench["name"])
    if problem:  # it names the results folder
        raise StorageBenchError(f"{path}: [benchmark].name {bench['name']!r} {problem}")
    ipc = tuple(sorted(_int_list(bench.get("images_per_class"), f"{path}: [benchmark].images_per_class", 1)))
    storage_table = dict(data.get("storage", {}))
    storage = (storage_table.pop("compressor", "png"), storage_table.pop("level", "lossless"))
    if storage_table:
        raise StorageBenchError(f"{path}: [storage] has unknown key(s) {', '.join(sorted(storage_table))}; "
                                f"valid: compressor, level")
    tables = data["reducer"]
    if not isinstance(tables, list) or not tables:
        raise StorageBenchError(f"{path}: [[reducer]] must be an array of tables, one per reducer")
    reducers = tuple(_reducer(t, i, ipc, storage, path) for i, t in enumerate(tables))
    labels = [r.label for r in reducers]
    if len(set(labels)) != len(labels):
        raise StorageBenchError(f"{path}: [[reducer]] labels must differ (give each a label), got {labels}")
    return ReductionConfig(
        name=bench["name"], description=str(bench.get("description", "")),
        seeds=_int_list(bench.get("seeds", [0]), f"{path}: [benchmark].seeds", 0), images_per_class=ipc,
        dataset=_take_name(dataset, "dataset", path), task=_take_name(task, "task", path), reducers=reducers,
        compare=_compare(data.get("compare"), path), dataset_params=dataset, task_params=task, source=str(path))
