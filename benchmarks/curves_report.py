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

from storagebench.benchmarks.allocation import optimal_n
from storagebench.benchmarks.config import load_config
from storagebench.benchmarks.curves import CurveBuilder, CurveCell, TrainingSet, cell_row, schemes
from storagebench.benchmarks.fit import ScalingLaw, law_from_dict
from storagebench.benchmarks.report import fit_results_dir, open_results_dir, original_points, write_json_atomic
from storagebench.benchmarks.runner import Plan, make_plan, say, train_and_score
from storagebench.benchmarks.store import CompressedSetStore
from storagebench.errors import StorageBenchError
from storagebench.parallel import parallel_map
from storagebench.provenance import git_commit, library_versions, machine

_job: dict[str, Any] = {}  # read by forked cell workers


def _train_curve_cell(cell: CurveCell) -> dict[str, Any]:
    plan: Plan = _job["plan"]
    training: TrainingSet = _job["sets"][cell.key]
    images = _job["decoded"][training.entry.path][:training.n]
    subset = plan.orders[cell.seed][:training.n]
    trained, (evaluation,) = train_and_score(plan, images, plan.splits.train.targets(subset), cell.seed, _job["test"])
    return {**cell_row(cell, training, plan.splits.train.target_sizes[subset]), **trained, "test_level": evaluation["test_level"],
            "error": evaluation["error"], "metrics": evaluation["metrics"]}


def check_budgets(out: Path, budgets: list[float] | None) -> list[float]:
    """The given budgets, or four spanning the grid's storage (twice its smallest n·L to its largest); each must
    hold at least one image of the smallest measured size."""
    points, _, _ = original_points(out)
    if not points:
        raise StorageBenchError(f"{out}: no grid results yet; run the benchmark first")
    storage = np.array([p["n"] * p["L"] for p in points])
    if not budgets:
        budgets = [float(f"{b:.3g}") for b in np.geomspace(2 * storage.min(), storage.max(), 4)]
    smallest_L = min(p["L"] for p in points)
    if min(budgets) < smallest_L:
        raise StorageBenchError(f"budget {min(budgets):.0f} bytes is smaller than one compressed image (smallest "
                                f"measured L = {smallest_L:.0f} bytes)")
    return budgets


def load_law(out: Path) -> ScalingLaw:
    fits_path = out / "fits.json"
    if not fits_path.is_file():
        fit_results_dir(out)
    params = json.loads(fits_path.read_text())["params"]
    return law_from_dict(params)


def run_curves(out: Path, budgets: list[float], naive: list[float], workers: int, cache_root: Path,
               data: str | None = None) -> list[dict[str, Any]]:
    db, _ = open_results_dir(out)
    config = load_config(out / "config.toml")
    plan = make_plan(config, data)
    if db.meta("config_hash") != config.identity_hash():
        raise StorageBenchError(f"{out}/config.toml no longer matches the results it holds")
    law = load_law(out)
    cells = [CurveCell(scheme, s, seed) for s in budgets for scheme in schemes(naive) for seed in config.seeds]
    with db:
        done = {row["cell"] for row in db.curve_rows()}
        pending = [c for c in cells if c.key not in done]
        say(f"curves: {len(cells)} cells ({len(budgets)} budgets × {len(schemes(naive))} schemes × "
            f"{len(config.seeds)} seeds), {len(cells) - len(pending)} already done")
        if pending:
            _train_pending(plan, law, pending, db, workers, cache_root)
        rows = [r for r in db.curve_rows() if r["cell"] in {c.key for c in cells}]
    return rows


def _train_pending(plan: Plan, law: ScalingLaw, pending: list[CurveCell], db: Any, workers: int,
                   cache_root: Path) -> None:
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
    decoded = {path: entry.decode(plan.codec, workers) for path, entry in entries.items()}
    run_id = db.start_run(plan.config.identity_hash(), git_commit(), library_versions(), machine(), workers)
    plan.splits.train.target_sizes  # noqa: B018  (computed once here, inherited by the forked workers)
    _job.update(plan=plan, sets=sets, decoded=decoded,
                test={plan.codec.original_level: (test_entry, test_entry.decode(plan.codec, workers))})
    pending = sorted(pending, key=lambda c: -sets[c.key].n)  # largest first keeps both cores busy
    for row in parallel_map(_train_curve_cell, pending, workers=workers, total=len(pending), desc="train curves",
                            unit="cell", ordered=False):
        db.write_curve_cell({**row, "run_id": run_id})
    _job.clear()


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
