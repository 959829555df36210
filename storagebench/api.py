"""The Python API, for notebooks: ``import storagebench as sb`` then

- ``sb.run(config, out, ...)``: run a benchmark definition (as ``storagebench run``; a problem raises);
- ``sb.load_results(out)``: a results dir's measurements as a pandas DataFrame, read-only;
- ``sb.load_fit(out)``: its fitted law (``fits.json``) as a ``ScalingLaw``;
- ``sb.allocate(out, budgets)``: the optimal (n*, L*) per byte budget, rows outside the measured grid marked.

Like the command line, this is a front door: it may use every part of the package, and nothing imports it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from storagebench.errors import StorageBenchError


def run(config: str | Path | None, out: str | Path, *, workers: int | None = None, data: str | Path | None = None,
        cache: str | Path | None = None, overrides: Sequence[str] = (), memory_gb: float | None = None) -> Path:
    """Run (or resume) a benchmark file (None: the embedded quick.toml) into ``out`` exactly as ``storagebench run``
    does (``overrides``: its ``--set SECTION.KEY=VALUE``); returns ``out``. Errors raise ``StorageBenchError``."""
    from storagebench.benchmarks.cli import build_parser
    from storagebench.benchmarks.cli.common import compute
    from storagebench.startup import prepare_process

    argv = ["run", *([str(config)] if config else []), "--out", str(out)]
    for flag, value in (("--workers", workers), ("--data", data), ("--cache", cache), ("--memory-gb", memory_gb)):
        argv += [flag, str(value)] if value is not None else []
    for override in overrides:
        argv += ["--set", override]
    args = build_parser().parse_args(argv)
    prepare_process()
    with compute(args):
        args.func(args)
    return Path(out)


def level_value(label: str) -> float:
    """A level's number (a distance, a quality); the original format (``lossless``) is 0."""
    return 0.0 if label == "lossless" else float(label)


def load_results(out: str | Path) -> Any:  # pandas.DataFrame
    """One row per (cell, test level): ``train_level``/``test_level`` as ordered categories (the original format
    first, then by value: pivot tables read 1, 2, 10, 15, not 1, 10, 15, 2) with numeric ``train_level_value`` and
    ``test_level_value`` beside them, ``n``, ``seed``, ``L`` (train bytes per image), ``error`` and each metric as its
    own column. Read-only: a folder that is not a results dir is an error, and nothing is created."""
    import pandas as pd

    from storagebench.benchmarks.harness.results_dir import open_results_dir

    db, _ = open_results_dir(Path(out))
    with db:
        rows = db.rows()
    frame = pd.DataFrame([{**{k: v for k, v in row.__dict__.items() if k != "metrics"},
                           **{_metric_column(k, row): v for k, v in row.metrics.items()}} for row in rows])
    if frame.empty:
        raise StorageBenchError(f"{out}: no finished cells yet")
    frame = frame.rename(columns={"train_bytes_per_image": "L"})
    for column in ("train_level", "test_level"):
        labels = sorted(set(frame[column]), key=level_value)
        frame[f"{column}_value"] = frame[column].map(level_value)
        frame[column] = pd.Categorical(frame[column], categories=labels, ordered=True)
    return frame


def _metric_column(name: str, row: Any) -> str:
    return f"metric_{name}" if hasattr(row, name) else name


def load_fit(out: str | Path) -> Any:  # ScalingLaw
    """The law ``storagebench fit`` (or ``run``) fitted to the results dir (``fits.json``)."""
    from storagebench.benchmarks.law.fit import law_from_dict

    path = Path(out) / "fits.json"
    if not path.is_file():
        raise StorageBenchError(f"{path}: missing; `storagebench fit {out}` fits the law first")
    return law_from_dict(json.loads(path.read_text())["params"])


def allocate(out: str | Path, budgets: Sequence[float | str]) -> Any:  # pandas.DataFrame
    """For each budget (bytes, or text such as ``"500k"``): n*, L*, the predicted error and whether the allocation
    lies outside what the grid measured (``extrapolated``: n* above its largest n, or L* outside its L range)."""
    import pandas as pd

    from storagebench.benchmarks.law.allocation import allocation_table
    from storagebench.units import parse_budget

    results = load_results(out)
    grid = (float(results["n"].max()), float(results["L"].min()), float(results["L"].max()))
    rows = allocation_table(load_fit(out), [parse_budget(b) for b in budgets], grid=grid)
    return pd.DataFrame(rows).rename(columns={"s": "budget"})
