"""A results dir's grid read back: the summary table and the fit (``fits.json`` + ``figures/fit.png``)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.atomic import write_json_atomic
from storagebench.benchmarks.analysis.figures import plot_fit
from storagebench.benchmarks.analysis.summary import analyse
from storagebench.benchmarks.definition import level_order
from storagebench.benchmarks.harness.cells import grid_key
from storagebench.benchmarks.harness.results import ResultsDB
from storagebench.benchmarks.harness.results_dir import open_results_dir
from storagebench.benchmarks.law.fit import check_fit_data, law_from_dict
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError
from storagebench.provenance import git_commit, library_versions
from storagebench.units import count, format_bytes


def original_points(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Measurements on original-format test images: one point per trained cell."""
    db, config = open_results_dir(out)
    with db:
        original = db.meta("original_level") or "lossless"
        rows = db.rows(test_level=original)
    points = [{"level": r.train_level, "n": r.n, "seed": r.seed, "L": r.train_bytes_per_image,
               "label_bytes": r.train_label_bytes_total / r.n, "error": r.error} for r in rows]
    return points, config, original


def current_fit(out: Path) -> tuple[dict, Path, Path] | None:
    """``fits.json`` when it was fitted to exactly the cells the results dir holds now (else None: refit)."""
    fits_path = out / "fits.json"
    if not fits_path.is_file():
        return None
    fits = json.loads(fits_path.read_text())
    points, _, _ = original_points(out)
    if fits.get("data") != points:
        return None
    return fits, fits_path, out / fits["figure"]


def missing_cells(out: Path, config: dict[str, Any]) -> list[str]:
    """Cells the benchmark definition has that the results dir does not (yet)."""
    bench = config["benchmark"]
    wanted = [grid_key(level, n, seed) for level in level_order(config) for n in bench["n"]
              for seed in bench["seeds"]]
    with ResultsDB(out / "results.sqlite", read_only=True) as db:
        done = db.finished_cells()
    return [cell for cell in wanted if cell not in done]


def fit_results_dir(out: Path, budgets: list[float] | None = None, replicates: int = 200) -> tuple[dict, Path, Path]:
    points, config, original = original_points(out)
    n, L, err = (np.array([p[k] for p in points], dtype=float) for k in ("n", "L", "error"))
    try:
        check_fit_data(n, L, err)
    except StorageBenchError as exc:
        missing = missing_cells(out, config)
        shown = ", ".join(missing[:12]) + (f", … ({len(missing)} in all)" if len(missing) > 12 else "")
        raise StorageBenchError(f"{out}: {exc}. Missing cells: {shown or 'none'}"
                                + ("; run the benchmark to finish them" if missing else "")) from None
    summary = analyse(n, L, err, budgets or config["benchmark"].get("budgets"), replicates)
    if "published" in config:  # a published fit of this setup, shown beside ours
        summary["published"] = config["published"]
    name = config["benchmark"]["name"]
    law = law_from_dict(summary["params"])
    figure = plot_fit(points, law, out / "figures" / "fit.png",
                      f"{name}: {config['task']['name']} on {config['dataset']['name']}, "
                      f"{config['compressor']['name']} (test: {original})")
    fits_path = out / "fits.json"
    write_json_atomic(fits_path, {
        "benchmark": name, "test_level": original, "L": "mean stored bytes per training image",
        "error": "1 - metric on the full test split", **summary, "data": points,
        "figure": str(figure.relative_to(out)), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "library_versions": library_versions()})
    return summary, fits_path, figure


def summary_table(out: Path) -> str:
    """Error on original-format test images as a level × n table (mean ± sd over seeds), with each level's mean
    stored bytes per image (L) and its targets' bytes per image."""
    points, config, original = original_points(out)
    order = {lv: i for i, lv in enumerate(level_order(config))}
    levels = sorted({p["level"] for p in points}, key=lambda lv: order.get(lv, 1e9))
    ns = sorted({p["n"] for p in points})
    seeds = len({p["seed"] for p in points})
    cells = {(lv, n): [p["error"] for p in points if p["level"] == lv and p["n"] == n] for lv in levels for n in ns}

    def shown(errors: list[float]) -> str:
        if not errors:
            return "-"
        sd = f" ± {np.std(errors, ddof=1):.4f}" if len(errors) > 1 else ""
        return f"{np.mean(errors):.4f}{sd}"

    width = max(10, *(len(shown(e)) for e in cells.values()))
    lines = [f"test error on {original} test images ({config['benchmark']['name']}), mean"
             f"{' ± sd' if seeds > 1 else ''} over {count(seeds, 'seed')}; L = stored bytes per training image, "
             f"labels = its targets' bytes (lossless, never compressed)",
             f"{'level':>10} {'L':>9} {'labels':>8} " + " ".join(f"{f'n = {n:,}':>{width}}" for n in ns)]
    for lv in levels:
        mine = [p for p in points if p["level"] == lv]
        lines.append(f"{lv:>10} {format_bytes(np.mean([p['L'] for p in mine])):>9} "
                     f"{format_bytes(np.mean([p['label_bytes'] for p in mine])):>8} "
                     + " ".join(f"{shown(cells[lv, n]):>{width}}" for n in ns))
    return "\n".join(lines)


def current_law(out: Path) -> ScalingLaw:
    """The law fitted to the grid cells the results dir holds now (refitted if ``fits.json`` is stale or missing)."""
    fits, _, _ = current_fit(out) or fit_results_dir(out)
    return law_from_dict(fits["params"])
