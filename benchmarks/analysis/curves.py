"""Storage curves read back: mean error per (budget, scheme) over seeds, optimal vs original, the law's held-out
prediction, as a table, ``curves.json`` and ``figures/curves.png``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.atomic import write_json_atomic
from storagebench.benchmarks.analysis.fits import original_points
from storagebench.benchmarks.harness.rows import CurveCellRow
from storagebench.benchmarks.harness.schemes import parse_scheme
from storagebench.benchmarks.law.allocation import budgets_for, optimal_n
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError


def check_budgets(out: Path, budgets: list[float] | None) -> list[float]:
    """The given budgets, else the benchmark definition's ``[benchmark].budgets``, else the grid's defaults
    (``budgets_for``)."""
    points, config, _ = original_points(out)
    if not points:
        raise StorageBenchError(f"{out}: no grid results yet; run the benchmark first")
    budgets = budgets or config["benchmark"].get("budgets")
    return budgets_for(np.array([p["n"] for p in points]), np.array([p["L"] for p in points]), budgets)


def _scheme_order(scheme: str) -> tuple[int, float]:
    return parse_scheme(scheme).sort_key()


def summarise(rows: list[CurveCellRow], law: ScalingLaw) -> dict[str, Any]:
    """Mean error per (budget, scheme) over seeds, optimal vs original at each budget, and the law's prediction
    for the largest budget (the law was fitted on the grid only, so this is held out)."""
    table: dict[float, dict[str, dict[str, float]]] = {}
    present = sorted({r.scheme for r in rows}, key=_scheme_order)
    for budget in sorted({r.budget for r in rows}):
        for scheme in present:
            group = [r for r in rows if r.budget == budget and r.scheme == scheme]
            if group:
                table.setdefault(budget, {})[scheme] = {
                    "n": float(np.mean([r.n for r in group])), "L": float(np.mean([r.bytes_per_image for r in group])),
                    "error": float(np.mean([r.error for r in group])), "level": group[0].level}
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


def write_curves(out: Path, rows: list[CurveCellRow], law: ScalingLaw) -> tuple[dict[str, Any], Path, Path]:
    from storagebench.benchmarks.analysis.curves_figure import plot_curves

    summary = summarise(rows, law)
    path = out / "curves.json"
    write_json_atomic(path, {**summary, "rows": [r.as_dict() for r in rows]})
    fits_path = out / "fits.json"
    fits = json.loads(fits_path.read_text())
    write_json_atomic(fits_path, {**fits, "curves_held_out_prediction": summary["held_out_prediction"]})
    return summary, path, plot_curves(summary, law, out / "figures" / "curves.png")
