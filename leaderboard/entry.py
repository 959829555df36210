"""A leaderboard entry: one JSON file per benchmarked compressor, with what it measured and how to reproduce it.

Built from a results dir (``results.sqlite``, ``config.toml``, ``fits.json``) plus the validation report of
``storagebench submit``: compressor name, version, parameters and levels; the benchmark's config hash; library
versions, commit, machine and seeds; per train level the stored bytes per image and the sha256 of every manifest
trained on; per test level its manifests; every measured error; the fit; the storage-curve cells; the baselines'
bytes (``benchmarks/harness/baselines.py``); and, for submissions, the errors the submitter claims at given budgets.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.atomic import write_json_atomic
from storagebench.benchmarks.analysis.fits import current_fit, fit_results_dir
from storagebench.benchmarks.definition import level_order, portable_name
from storagebench.benchmarks.harness.results_dir import open_results_dir
from storagebench.benchmarks.harness.rows import CellRow, EvaluationRow
from storagebench.compressors import COMPRESSORS
from storagebench.errors import StorageBenchError
from storagebench.provenance import git_commit, stable_hash

ENTRY_FORMAT = 4  # 2: task, dataset, budgets, definition hash, curves, baselines, claims; 3: the harness's own
# baseline errors, decoder bytes measured from the declared state; 4: the protocol, its baselines filled to each
# budget, the decoder bytes each curve set counted


def _per_level(cells: list[CellRow], order: list[str]) -> list[dict[str, Any]]:
    by_level: dict[str, list[CellRow]] = defaultdict(list)
    for cell in cells:
        by_level[cell.train_level].append(cell)
    rows = []
    for level in sorted(by_level, key=lambda lv: order.index(lv) if lv in order else len(order)):
        group = by_level[level]
        largest = max(c.n for c in group)
        at_largest = [c for c in group if c.n == largest]
        info = at_largest[0].codec_info
        rows.append({"level": level, "bytes_per_image": float(np.mean([c.train_bytes_per_image for c in at_largest])),
                     "at_n": largest, "decoder_bytes": int(group[0].decoder_bytes),
                     "manifest_sha256": sorted({c.train_manifest_sha256 for c in group}),
                     **({"codec_info": info} if info else {})})
    return rows


def _error(cell: CellRow, evaluation: EvaluationRow) -> dict[str, Any]:
    return {"train_level": cell.train_level, "n": cell.n, "seed": cell.seed, "L": cell.train_bytes_per_image,
            "test_level": evaluation.test_level, "error": evaluation.error}


def board_definition(config: dict[str, Any]) -> dict[str, Any]:
    """What entries must share to be ranked in one table: everything but the compressor and the benchmark's name."""
    bench = config["benchmark"]
    return {"seeds": bench["seeds"], "n": bench["n"], "budgets": bench.get("budgets", []),
            "dataset": {k: v for k, v in config["dataset"].items() if k != "path"}, "task": config["task"],
            "protocol": config.get("protocol")}


CURVE_KEYS = ("scheme", "budget", "seed", "n", "bytes_total", "label_bytes_total", "bytes_per_image", "decoder_bytes",
              "level", "test_level", "error", "train_manifest_sha256")


def _current_fits(out: Path) -> dict[str, Any] | None:
    """The fit of the cells the results dir holds now (refitted if ``fits.json`` is stale); None if too few."""
    try:
        return (current_fit(out) or fit_results_dir(out))[0]
    except StorageBenchError:
        return None


def recorded_compressor(spec: str, recorded: dict[str, str] | None) -> dict[str, str]:
    """The compressor's name and version as the run recorded them. Nothing a results dir names is imported: a dir
    someone sends you must not run code. Dirs from before the record know built-ins by name, others by their spec."""
    if recorded:
        return {"name": str(recorded["name"]), "version": str(recorded["version"])}
    builtin = COMPRESSORS.builtin(spec)
    if builtin is not None:
        return {"name": builtin.name, "version": builtin.version}
    return {"name": portable_name(spec).rpartition(":")[2].lower() or spec, "version": "unrecorded"}


def build_entry(out: Path, validation: dict[str, Any] | None = None,
                claimed: dict[str, float] | None = None) -> dict[str, Any]:
    db, config = open_results_dir(out)
    with db:
        cells = db.cells()
        evaluations, runs = db.evaluations(), db.runs()
        config_hash = db.meta("config_hash")
        original_level = db.meta("original_level") or "lossless"
        baselines = db.meta_json("baselines")
        baselines_filled = db.meta_json("baselines_filled", {})
        baseline_errors = sorted(db.meta_json("baseline_errors", {}).values(), key=lambda b: (b["n"], b["seed"]))
        curves = [{k: getattr(r, k) for k in CURVE_KEYS} for r in db.curve_rows()]
        recorded = db.meta_json("compressor")
    compressor = dict(config["compressor"])
    name = compressor.pop("name")
    identity = recorded_compressor(name, recorded)
    train_levels, test_levels = compressor.pop("train_levels"), compressor.pop("test_levels")
    fits = _current_fits(out)
    cell_by_key = {c.cell: c for c in cells}
    tests: dict[str, dict[str, Any]] = {}
    for e in evaluations:
        tests.setdefault(e.test_level, {"test_level": e.test_level, "bytes_per_image": e.test_bytes_per_image,
                                        "manifest_sha256": e.test_manifest_sha256})
    versions = runs[-1].library_versions if runs else {}
    codec_versions = cells[0].codec_versions if cells else {}
    return {
        "entry_format": ENTRY_FORMAT,
        "compressor": {"name": identity["name"], "spec": portable_name(name), "version": identity["version"],
                       "params": compressor, "train_levels": train_levels, "test_levels": test_levels,
                       "library_versions": codec_versions},
        "benchmark": {"name": config["benchmark"]["name"], "config_hash": config_hash, "config": config,
                      "seeds": config["benchmark"]["seeds"], "task": config["task"]["name"],
                      "dataset": config["dataset"]["name"], "budgets": config["benchmark"].get("budgets", []),
                      "definition_hash": stable_hash(board_definition(config)), "original_level": original_level},
        "provenance": {"git_commits": sorted({r.git_commit for r in runs}), "library_versions": versions,
                       "machine": runs[-1].machine if runs else {}},
        "levels": _per_level(cells, level_order(config)),
        "test_levels": list(tests.values()),
        "errors": [_error(cell_by_key[e.cell], e) for e in evaluations],
        "fit": None if fits is None else {k: fits[k] for k in ("form", "params", "r2", "bootstrap") if k in fits},
        "curves": curves,
        "baselines": baselines,
        "baselines_filled": baselines_filled,
        "baseline_errors": baseline_errors,
        "claimed": {f"{float(s):g}": float(e) for s, e in (claimed or {}).items()},
        "validation": validation,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "written_by_commit": git_commit(),
    }


def write_entry(out: Path, path: Path | None = None, validation: dict[str, Any] | None = None,
                claimed: dict[str, float] | None = None) -> Path:
    path = path or out / "entry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, build_entry(out, validation, claimed))
    return path
