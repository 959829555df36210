"""Benchmark definitions are TOML files: what to run is data, not Python.

    [benchmark]  name, description, seeds, n, budgets (storage budgets in bytes the leaderboard ranks at)
    [dataset]    name + the reader's keys (e.g. path)
    [compressor] name, train_levels, test_levels, count_decoder_bytes + the codec's keys (e.g. effort)
    [task]       name + model and training-recipe keys
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storagebench.errors import StorageBenchError
from storagebench.paths import name_problem
from storagebench.provenance import stable_hash

BENCHMARKS_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = BENCHMARKS_DIR / "quick.toml"
SECTIONS = ("benchmark", "dataset", "compressor", "task")


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
    source: str = ""

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
        }

    def identity_hash(self) -> str:
        return identity_hash(self.as_toml())


def identity_hash(table: dict[str, Any]) -> str:
    """Hash of everything in a grid definition's table (``as_toml``, or a results dir's ``config.toml``) that
    changes results; the dataset's location is not part of it, nor are the budgets (analysis settings: storage-curve
    cells are keyed by their budget, grid cells do not depend on them)."""
    table = {section: dict(values) for section, values in table.items()}
    table["benchmark"].pop("budgets", None)
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
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise StorageBenchError(f"{path}: unknown table(s) {', '.join(unknown)}; valid: {', '.join(SECTIONS)}")
    bench = _section(data, "benchmark", path)
    dataset, compressor, task = (_section(data, s, path) for s in SECTIONS[1:])
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
        dataset_params=dataset, compressor_params=compressor, task_params=task, source=str(path))


def _budgets(value: Any, where: str) -> tuple[float, ...]:
    """Byte counts as numbers or strings with decimal suffixes ("250k", "2M"), sorted; none is fine."""
    from storagebench.benchmarks.allocation import parse_budget

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


def load_config(path: str | Path | None) -> BenchmarkConfig:
    """A grid benchmark (image codec × n × seeds); a reduction benchmark is refused naming the command for it."""
    from storagebench.benchmarks.distill_config import is_reduction

    data, path = read_definition(path)
    if is_reduction(data):
        raise StorageBenchError(f"{path}: a reduction benchmark ([[reducer]] tables), not a codec grid; "
                                f"`storagebench run {path}` runs it")
    return parse_config(data, path)
