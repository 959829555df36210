"""A leaderboard entry: one JSON file per benchmarked compressor, with what it measured and how to reproduce it.

Built from a results dir (``results.sqlite``, ``config.toml``, ``fits.json``) plus the validation report of
``storagebench submit``: compressor name, version, parameters and levels; the benchmark's config hash; library
versions, commit, machine and seeds; per train level the stored bytes per image and the sha256 of every manifest
trained on; per test level its manifests; every measured error; the fit.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.config import portable_name
from storagebench.compressors import COMPRESSORS
from storagebench.benchmarks.report import level_order, open_results_dir, write_json_atomic
from storagebench.provenance import git_commit

ENTRY_FORMAT = 1


def _per_level(cells: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    by_level: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        by_level[cell["train_level"]].append(cell)
    rows = []
    for level in sorted(by_level, key=lambda lv: order.index(lv) if lv in order else len(order)):
        group = by_level[level]
        largest = max(c["n"] for c in group)
        at_largest = [c for c in group if c["n"] == largest]
        info = json.loads(at_largest[0]["codec_info"])
        rows.append({"level": level, "bytes_per_image": float(np.mean([c["train_bytes_per_image"] for c in at_largest])),
                     "at_n": largest, "decoder_bytes": int(group[0]["decoder_bytes"]),
                     "manifest_sha256": sorted({c["train_manifest_sha256"] for c in group}),
                     **({"codec_info": info} if info else {})})
    return rows


def build_entry(out: Path, validation: dict[str, Any] | None = None) -> dict[str, Any]:
    db, config = open_results_dir(out)
    with db:
        cells = db.cells()
        evaluations = [dict(r) for r in db.conn.execute(
            "SELECT cell, test_level, test_bytes_per_image, test_manifest_sha256, error, metrics FROM evaluations "
            "ORDER BY cell, test_level")]
        runs = [dict(r) for r in db.conn.execute("SELECT * FROM runs ORDER BY run_id")]
        config_hash = db.meta("config_hash")
    compressor = dict(config["compressor"])
    name = compressor.pop("name")
    codec_class = COMPRESSORS.get(name)
    train_levels, test_levels = compressor.pop("train_levels"), compressor.pop("test_levels")
    fits_path = out / "fits.json"
    fits = json.loads(fits_path.read_text()) if fits_path.is_file() else None
    cell_by_key = {c["cell"]: c for c in cells}
    tests: dict[str, dict[str, Any]] = {}
    for e in evaluations:
        tests.setdefault(e["test_level"], {"test_level": e["test_level"], "bytes_per_image": e["test_bytes_per_image"],
                                           "manifest_sha256": e["test_manifest_sha256"]})
    versions = json.loads(runs[-1]["library_versions"]) if runs else {}
    codec_versions = json.loads(cells[0]["codec_versions"]) if cells else {}
    return {
        "entry_format": ENTRY_FORMAT,
        "compressor": {"name": codec_class.name, "spec": portable_name(name), "version": codec_class.version,
                       "params": compressor, "train_levels": train_levels, "test_levels": test_levels,
                       "library_versions": codec_versions},
        "benchmark": {"name": config["benchmark"]["name"], "config_hash": config_hash, "config": config,
                      "seeds": config["benchmark"]["seeds"]},
        "provenance": {"git_commits": sorted({r["git_commit"] for r in runs}), "library_versions": versions,
                       "machine": json.loads(runs[-1]["machine"]) if runs else {}},
        "levels": _per_level(cells, level_order(config)),
        "test_levels": list(tests.values()),
        "errors": [{"train_level": cell_by_key[e["cell"]]["train_level"], "n": cell_by_key[e["cell"]]["n"],
                    "seed": cell_by_key[e["cell"]]["seed"], "L": cell_by_key[e["cell"]]["train_bytes_per_image"],
                    "test_level": e["test_level"], "error": e["error"]} for e in evaluations],
        "fit": None if fits is None else {k: fits[k] for k in ("form", "params", "r2", "bootstrap") if k in fits},
        "validation": validation,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "written_by_commit": git_commit(),
    }


def write_entry(out: Path, path: Path | None = None, validation: dict[str, Any] | None = None) -> Path:
    path = path or out / "entry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, build_entry(out, validation))
    return path
