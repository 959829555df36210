"""``storagebench curves DIR``: train on the storage-curve schemes at each budget, then tabulate and plot.

Results go to the results dir: one row per (scheme, budget, seed) in ``results.sqlite`` (table ``curve_cells``,
one transaction each, so a re-run resumes), ``curves.json`` and ``figures/curves.png``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.allocation import budgets_for, optimal_n
from storagebench.benchmarks.config import load_config
from storagebench.benchmarks.curves import CurveBuilder, CurveCell, TrainingSet, cell_row, schemes, searchable_range
from storagebench.benchmarks.fit import ScalingLaw, law_from_dict
from storagebench.benchmarks.report import (current_fit, fit_results_dir, open_results_dir, original_points,
                                            read_checked_config, write_json_atomic)
from storagebench.benchmarks.runner import (Plan, check_results_dir, make_plan, parse_levels, prepare_codec, say,
                                            train_and_score, train_cells)
from storagebench.benchmarks.store import CompressedSetStore, decode_verified
from storagebench.compressors.decoding import decoder_for
from storagebench.errors import StorageBenchError

def _train_curve_cell(job: dict[str, Any], cell: CurveCell) -> dict[str, Any]:
    plan: Plan = job["plan"]
    training: TrainingSet = job["sets"][cell.key]
    images = job["decoded"][training.entry.path][:training.n]
    subset = plan.orders[cell.seed][:training.n]
    trained, (evaluation,) = train_and_score(plan, images, plan.splits.train.targets(subset), cell.seed, job["test"],
                                           job["device"])
    return {**cell_row(cell, training, plan.splits.train.target_sizes[subset]), **trained,
            "test_level": evaluation["test_level"], "error": evaluation["error"], "metrics": evaluation["metrics"]}


def check_budgets(out: Path, budgets: list[float] | None) -> list[float]:
    """The given budgets, else the benchmark definition's ``[benchmark].budgets``, else the grid's defaults
    (``budgets_for``)."""
    points, config, _ = original_points(out)
    if not points:
        raise StorageBenchError(f"{out}: no grid results yet; run the benchmark first")
    budgets = budgets or config["benchmark"].get("budgets")
    return budgets_for(np.array([p["n"] for p in points]), np.array([p["L"] for p in points]), budgets)


def current_law(out: Path) -> ScalingLaw:
    """The law fitted to the grid cells the results dir holds now (refitted if ``fits.json`` is stale or missing)."""
    fits, _, _ = current_fit(out) or fit_results_dir(out)
    return law_from_dict(fits["params"])


def run_curves(out: Path, budgets: list[float], naive: list[float], workers: int, cache_root: Path,
               data: str | None = None) -> tuple[list[dict[str, Any]], ScalingLaw]:
    """Train every pending (scheme, budget, seed) cell; the rows of all of them, and the law they were allocated by."""
    budgets, naive = list(dict.fromkeys(budgets)), list(dict.fromkeys(naive))
    read_checked_config(out)  # an edited config.toml is refused before anything it names is loaded
    plan = make_plan(load_config(out / "config.toml"), data)
    searchable_range(plan.codec)  # refuse before any work
    parse_levels(plan.codec, naive, "--naive")
    law = current_law(out)
    db, _ = open_results_dir(out, write=True)
    with db:
        check_results_dir(plan, db, out)
        cells = [CurveCell(scheme, s, seed) for s in budgets for scheme in schemes(naive) for seed in plan.config.seeds]
        done = {row["cell"] for row in db.curve_rows()}
        pending = [c for c in cells if c.key not in done]
        say(f"curves: {len(cells)} cells ({len(budgets)} budgets × {len(schemes(naive))} schemes × "
            f"{len(plan.config.seeds)} seeds), {len(cells) - len(pending)} already done")
        if pending:
            train_curve_cells(plan, law, pending, db, workers, cache_root)
        rows = [r for r in db.curve_rows() if r["cell"] in {c.key for c in cells}]
    return rows, law


def train_curve_cells(plan: Plan, law: ScalingLaw | None, pending: list[CurveCell], db: Any, workers: int,
                   cache_root: Path) -> None:
    prepare_codec(plan, cache_root, workers)
    store = CompressedSetStore(cache_root)
    builder = CurveBuilder(plan, store, law, workers)
    sets: dict[str, TrainingSet] = {}
    for cell in pending:
        started = time.perf_counter()
        sets[cell.key] = training = builder.build(cell)
        say(f"{cell.key}: n = {training.n}, {training.description}, {training.total_bytes} of "
            f"{cell.budget:.0f} bytes ({time.perf_counter() - started:.1f} s, {builder.probes} sets encoded so far)")
    test = plan.splits.test
    test_entry, _ = store.ensure(test.images, np.arange(len(test)), plan.codec, plan.codec.original_level,
                                 fingerprint=test.fingerprint, split="test", workers=workers)
    entries = {t.entry.path: t.entry for t in sets.values()}
    levels = [plan.codec.original_level,
              *(lv for e in entries.values() for lv in (e.levels if isinstance(e.levels, list) else [e.levels]))]
    decoder, _ = decoder_for(plan.codec, levels, plan.config.compressor)
    decoded = {path: decode_verified(entry, decoder, plan.splits.train.images, workers)
               for path, entry in entries.items()}
    test_set = {plan.codec.original_level: (test_entry, decode_verified(test_entry, decoder, test.images, workers))}
    train_cells(plan, db, _train_curve_cell, pending, size=lambda c: sets[c.key].n, workers=workers,
                shared=dict(sets=sets, decoded=decoded, test=test_set),
                write=lambda row, run_id: db.write_curve_cell({**row, "run_id": run_id}))


def _scheme_order(scheme: str) -> tuple[int, float]:
    fixed = {"original": 0, "optimal": 1, "randomized": 3}
    return (fixed[scheme], 0.0) if scheme in fixed else (2, float(scheme.removeprefix("naive-d")))


def summarise(rows: list[dict[str, Any]], law: ScalingLaw) -> dict[str, Any]:
    """Mean error per (budget, scheme) over seeds, optimal vs original at each budget, and the law's prediction
    for the largest budget (the law was fitted on the grid only, so this is held out)."""
    table: dict[float, dict[str, dict[str, float]]] = {}
    present = sorted({r["scheme"] for r in rows}, key=_scheme_order)
    for budget in sorted({r["budget"] for r in rows}):
        for scheme in present:
            group = [r for r in rows if r["budget"] == budget and r["scheme"] == scheme]
            if group:
                table.setdefault(budget, {})[scheme] = {
                    "n": float(np.mean([r["n"] for r in group])), "L": float(np.mean([r["bytes_per_image"] for r in group])),
                    "error": float(np.mean([r["error"] for r in group])), "level": group[0]["level"]}
    comparison = [{"budget": b, "optimal": v["optimal"]["error"], "original": v["original"]["error"],
                   "relative_gain": 1 - v["optimal"]["error"] / v["original"]["error"]}
                  for b, v in table.items() if "optimal" in v and "original" in v]
    largest = max(table)
    prediction = None
    if "optimal" in table[largest]:
        n_star = optimal_n(law, largest)
        predicted = float(law.predict(n_star, largest / n_star))
        measured = table[largest]["optimal"]["error"]
        prediction = {"budget": largest, "predicted_error": predicted, "measured_error": measured,
                      "relative_error": abs(predicted / measured - 1)}
    return {"table": {f"{b:g}": v for b, v in table.items()}, "optimal_vs_original": comparison,
            "held_out_prediction": prediction}


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{'budget s':>10} {'scheme':>12} {'n':>8} {'L bytes':>8} {'error':>8}  level"]
    for budget, by_scheme in summary["table"].items():
        for scheme, v in by_scheme.items():
            lines.append(f"{float(budget):10.4g} {scheme:>12} {v['n']:8.0f} {v['L']:8.1f} {v['error']:8.4f}  {v['level']}")
    for c in summary["optimal_vs_original"]:
        verdict = "beat" if c["optimal"] < c["original"] else "did not beat"
        lines.append(f"s = {c['budget']:.4g}: scaling-optimal {verdict} original format: error {c['optimal']:.4f} vs "
                     f"{c['original']:.4f} ({c['relative_gain']:+.1%} relative)")
    p = summary["held_out_prediction"]
    if p:
        lines.append(f"held-out: the grid's fit predicts {p['predicted_error']:.4f} at s = {p['budget']:.4g} "
                     f"(optimal), measured {p['measured_error']:.4f}: relative error {p['relative_error']:.1%}")
    return "\n".join(lines)


def write_curves(out: Path, rows: list[dict[str, Any]], law: ScalingLaw) -> tuple[dict[str, Any], Path, Path]:
    from storagebench.benchmarks.curves_figure import plot_curves

    summary = summarise(rows, law)
    path = out / "curves.json"
    write_json_atomic(path, {**summary, "rows": rows})
    fits_path = out / "fits.json"
    fits = json.loads(fits_path.read_text())
    write_json_atomic(fits_path, {**fits, "curves_held_out_prediction": summary["held_out_prediction"]})
    return summary, path, plot_curves(summary, law, out / "figures" / "curves.png")
