"""Benchmark definitions are TOML files: what to run is data, not Python.

    [benchmark]  name, description, seeds, n, budgets (storage budgets in bytes the leaderboard ranks at)
    [dataset]    name + the reader's keys (e.g. path)
    [compressor] name, train_levels, test_levels, count_decoder_bytes + the codec's keys (e.g. effort)
    [task]       name + model and training-recipe keys
    [protocol]   optional: how the leaderboard ranks entries of this benchmark (``protocol.py``)
    [published]  optional: a published fit of this setup (e_star, A, alpha, B, beta), printed beside ours

Reduction benchmarks (coresets, dataset distillation) are TOML files too; a ``[[reducer]]`` array marks one:

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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storagebench.benchmarks.protocol import Protocol, parse_protocol
from storagebench.errors import StorageBenchError
from storagebench.paths import name_problem
from storagebench.provenance import stable_hash

BENCHMARKS_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = BENCHMARKS_DIR / "quick.toml"
LEADERBOARD_CONFIG = BENCHMARKS_DIR / "leaderboard.toml"  # what `submit` runs by default
GRID_SECTIONS = ("benchmark", "dataset", "compressor", "task")
OPTIONAL_SECTIONS = ("protocol", "published")


@dataclass(frozen=True)
class BenchmarkConfig:
    name: str
    description: str
    seeds: tuple[int, ...]
    n: tuple[int, ...]
    dataset: str
    compressor: str
    task: str
    train_levels: tuple[Any, ...]
    test_levels: tuple[Any, ...]
    dataset_params: dict[str, Any] = field(default_factory=dict)
    compressor_params: dict[str, Any] = field(default_factory=dict)
    task_params: dict[str, Any] = field(default_factory=dict)
    count_decoder_bytes: bool = False  # add a learned codec's decoder weights to the storage of every cell
    budgets: tuple[float, ...] = ()  # total stored bytes; the leaderboard ranks entries at each
    protocol: Protocol | None = None  # how the leaderboard measures each entry's ranked number per budget
    published: dict[str, float] | None = None  # a published fit of this setup, printed beside ours
    source: str = ""

    @property
    def all_seeds(self) -> tuple[int, ...]:
        """The grid's seeds, then the protocol's others: every seed a cell of this benchmark is trained with."""
        return tuple(dict.fromkeys([*self.seeds, *(self.protocol.seeds if self.protocol else ())]))

    def as_toml(self) -> dict[str, dict[str, Any]]:
        return {
            "benchmark": {"name": self.name, "description": self.description, "seeds": list(self.seeds),
                          "n": list(self.n), **({"budgets": list(self.budgets)} if self.budgets else {})},
            "dataset": {"name": self.dataset, **self.dataset_params},
            "compressor": {"name": self.compressor, "train_levels": list(self.train_levels),
                           "test_levels": list(self.test_levels),
                           **({"count_decoder_bytes": True} if self.count_decoder_bytes else {}),
                           **self.compressor_params},
            "task": {"name": self.task, **self.task_params},
            **({"protocol": self.protocol.as_toml()} if self.protocol else {}),
            **({"published": dict(self.published)} if self.published else {}),
        }

    def identity_hash(self) -> str:
        return identity_hash(self.as_toml())


def identity_hash(table: dict[str, Any]) -> str:
    """Hash of everything in a grid definition's table (``as_toml``, or a results dir's ``config.toml``) that
    changes results; the dataset's location is not part of it, nor are the budgets and the protocol (storage-curve
    cells are keyed by their scheme, budget and seed; grid cells do not depend on them)."""
    table = {section: dict(values) for section, values in table.items()}
    table["benchmark"].pop("budgets", None)
    table.pop("protocol", None)
    table.pop("published", None)
    table["dataset"] = {k: v for k, v in table["dataset"].items() if k != "path"}
    table["compressor"]["name"] = portable_name(table["compressor"]["name"])
    return stable_hash(table)


def portable_name(name: str) -> str:
    """A compressor name as it identifies results on any machine: a ``dir/file.py:Class`` spec loses its folders."""
    target, colon, attribute = name.rpartition(":")
    return f"{Path(target).name}:{attribute}" if colon and target.endswith(".py") else name


def absolute_spec(name: str) -> str:
    """A ``file.py:Class`` spec with its path made absolute, so a saved config loads from any working directory."""
    target, colon, attribute = name.rpartition(":")
    return f"{Path(target).expanduser().resolve()}:{attribute}" if colon and target.endswith(".py") else name


def _int_list(value: Any, where: str, minimum: int) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value):
        raise StorageBenchError(f"{where}: expected a non-empty list of integers ≥ {minimum}, got {value!r}")
    if len(set(value)) != len(value):
        raise StorageBenchError(f"{where}: repeated values in {value!r}")
    return tuple(value)


def _levels(value: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list) or not value:
        raise StorageBenchError(f"{where}: expected a non-empty list of levels, got {value!r}")
    if len({str(v) for v in value}) != len(value):
        raise StorageBenchError(f"{where}: repeated levels in {value!r}")
    return tuple(value)


def _section(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    section = data.get(name)
    if not isinstance(section, dict):
        raise StorageBenchError(f"{path}: missing [{name}] table")
    return dict(section)


def _take_name(section: dict[str, Any], table: str, path: Path) -> str:
    name = section.pop("name", None)
    if not isinstance(name, str) or not name:
        raise StorageBenchError(f"{path}: [{table}].name must name a registered {table}")
    return name


def parse_config(data: dict[str, Any], path: Path) -> BenchmarkConfig:
    unknown = sorted(set(data) - set(GRID_SECTIONS) - set(OPTIONAL_SECTIONS))
    if unknown:
        raise StorageBenchError(f"{path}: unknown table(s) {', '.join(unknown)}; valid: "
                                f"{', '.join(GRID_SECTIONS + OPTIONAL_SECTIONS)}")
    bench = _section(data, "benchmark", path)
    dataset, compressor, task = (_section(data, s, path) for s in GRID_SECTIONS[1:])
    names = {s: _take_name(t, s, path) for s, t in (("dataset", dataset), ("compressor", compressor),
                                                    ("task", task))}
    extra = sorted(set(bench) - {"name", "description", "seeds", "n", "budgets"})
    if extra:
        raise StorageBenchError(f"{path}: [benchmark] has unknown key(s) {', '.join(extra)}; "
                                f"valid: name, description, seeds, n, budgets")
    if not isinstance(bench.get("name"), str) or not bench["name"]:
        raise StorageBenchError(f"{path}: [benchmark].name must be a non-empty string")
    problem = name_problem(bench["name"])
    if problem:  # it names the results folder
        raise StorageBenchError(f"{path}: [benchmark].name {bench['name']!r} {problem}")
    return BenchmarkConfig(
        name=bench["name"], description=str(bench.get("description", "")),
        seeds=_int_list(bench.get("seeds", [0]), f"{path}: [benchmark].seeds", 0),
        n=tuple(sorted(_int_list(bench.get("n"), f"{path}: [benchmark].n", 1))),
        budgets=_budgets(bench.get("budgets", []), f"{path}: [benchmark].budgets"),
        dataset=names["dataset"], compressor=names["compressor"], task=names["task"],
        train_levels=_levels(compressor.pop("train_levels", None), f"{path}: [compressor].train_levels"),
        test_levels=_levels(compressor.pop("test_levels", None), f"{path}: [compressor].test_levels"),
        count_decoder_bytes=_flag(compressor.pop("count_decoder_bytes", False), f"{path}: [compressor].count_decoder_bytes"),
        dataset_params=dataset, compressor_params=compressor, task_params=task, source=str(path),
        protocol=parse_protocol(data["protocol"], f"{path}: [protocol]") if "protocol" in data else None,
        published=law_numbers(data["published"], f"{path}: [published]") if "published" in data else None)


def _budgets(value: Any, where: str) -> tuple[float, ...]:
    """Byte counts as numbers or strings with decimal suffixes ("250k", "2M"), sorted; none is fine."""
    from storagebench.units import parse_budget

    if not isinstance(value, list):
        raise StorageBenchError(f"{where}: expected a list of byte counts such as [100000, \"250k\"], got {value!r}")
    try:
        budgets = sorted(parse_budget(v) for v in value if not isinstance(v, bool))
    except StorageBenchError as exc:
        raise StorageBenchError(f"{where}: {exc}") from None
    if len(budgets) != len(value) or len(set(budgets)) != len(budgets):
        raise StorageBenchError(f"{where}: expected distinct byte counts, got {value!r}")
    return tuple(budgets)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise StorageBenchError(f"{where}: expected true or false, got {value!r}")
    return value


def read_definition(path: str | Path | None) -> tuple[dict[str, Any], Path]:
    """The TOML of a benchmark file (default: the embedded quick.toml), and its path."""
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise StorageBenchError(f"{path}: benchmark file not found (shipped ones: "
                                f"{', '.join(p.name for p in sorted(BENCHMARKS_DIR.glob('*.toml')))})")
    try:
        return tomllib.loads(path.read_text()), path
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StorageBenchError(f"{path}: not valid TOML ({exc})") from exc


def with_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """The definition with ``--set SECTION.KEY=VALUE`` overrides applied (VALUE as TOML: 0.1, "adamw", [1, 2];
    a bare word is a string). The parser then checks them like any key of the file."""
    data = {section: dict(values) if isinstance(values, dict) else values for section, values in data.items()}
    for override in overrides:
        target, equals, text = override.partition("=")
        section, dot, key = target.strip().partition(".")
        if not equals or not dot or not section or not key or "." in key:
            raise StorageBenchError(f"--set {override}: expected SECTION.KEY=VALUE, e.g. --set task.lr=0.1")
        if not isinstance(data.get(section, {}), dict):
            raise StorageBenchError(f"--set {override}: [{section}] is not a table of this benchmark file")
        try:
            value = tomllib.loads(f"value = {text.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = text.strip()  # a bare word, e.g. --set task.optimizer=adamw
        data.setdefault(section, {})[key] = value
    return data


def load_config(path: str | Path | None) -> BenchmarkConfig:
    """A grid benchmark (image codec × n × seeds); a reduction benchmark is refused naming the command for it."""
    data, path = read_definition(path)
    if is_reduction(data):
        raise StorageBenchError(f"{path}: a reduction benchmark ([[reducer]] tables), not a codec grid; "
                                f"`storagebench run {path}` runs it")
    return parse_config(data, path)


REDUCTION_SECTIONS = ("benchmark", "dataset", "storage", "reducer", "compare", "task")
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
    if not isinstance(schemes, list) or not schemes or not all(isinstance(s, str) and s for s in schemes):
        raise StorageBenchError(f"{where}.schemes: a list of storage-curve scheme names (e.g. \"original\", "
                                f"\"optimal\", \"naive-d3\"), got {schemes!r}")
    law = table.pop("law", None)
    return CompareSpec(compressor, table, tuple(dict.fromkeys(schemes)),
                       law_numbers(law, f"{where}.law") if law is not None else None)


def law_numbers(law: Any, where: str) -> dict[str, float]:
    """A law's five numbers {e_star, A, alpha, B, beta} as floats, or one error naming ``where``."""
    if not isinstance(law, dict) or set(law) != set(LAW_KEYS) or not all(
            isinstance(law[k], (int, float)) and not isinstance(law[k], bool) for k in LAW_KEYS):
        raise StorageBenchError(f"{where}: the fitted law's numbers {{{', '.join(LAW_KEYS)}}}, got {law!r}")
    return {k: float(law[k]) for k in LAW_KEYS}


def parse_reduction(data: dict[str, Any], path: Path) -> ReductionConfig:
    unknown = sorted(set(data) - set(REDUCTION_SECTIONS))
    if unknown:
        raise StorageBenchError(f"{path}: unknown table(s) {', '.join(unknown)}; "
                                f"valid: {', '.join(REDUCTION_SECTIONS)}")
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


def level_order(config: dict[str, Any], key: str = "train_levels") -> list[str]:
    """Level labels in the order the benchmark file lists them."""
    return [lv if isinstance(lv, str) else format(float(lv), "g") for lv in config["compressor"][key]]
