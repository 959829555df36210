"""Everything ``fits.json`` reports about a grid: the robust fit and the paper's, the alternative forms chosen by
held-out error, bootstrap intervals, extrapolation to the largest n, and the optimal allocation."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from storagebench.benchmarks.law.allocation import (
    allocation_table,
    budgets_for,
    format_allocation,
)
from storagebench.benchmarks.law.fit import fit_paper, fit_robust, law_dict, law_from_dict, quality
from storagebench.benchmarks.law.uncertainty import (
    CONFIDENCE,
    bootstrap,
    compare_forms,
    extrapolation,
)
from storagebench.errors import StorageBenchError


def analyse(n: np.ndarray, L: np.ndarray, err: np.ndarray, budgets: list[float] | None = None,
            replicates: int = 200) -> dict:
    n, L, err = (np.asarray(a, dtype=float) for a in (n, L, err))
    budgets = budgets_for(n, L, budgets)
    law = fit_robust(n, L, err)
    paper = fit_paper(n, L, err, start=law)
    summary: dict = {
        "form": "E* + A*n^-alpha + B*L^-beta", "params": law_dict(law), **asdict(quality(law, n, L, err)),
        "method": "Huber loss on log error; variable projection (grid over alpha, beta with NNLS for the "
                  "coefficients) refined by least squares",
        "paper_method": {"params": law_dict(paper), **asdict(quality(paper, n, L, err)),
                         "method": "scipy.optimize.curve_fit in linear space, started from the robust fit"},
        "budgets": budgets,
    }
    try:
        forms = compare_forms(n, L, err)
        summary["forms"] = {f: {"params": law_dict(r["law"]), "held_out_rmse_log": r["held_out_rmse_log"],
                                "selected": r["selected"]} for f, r in forms.items()}
        summary["selected_form"] = next(f for f, r in forms.items() if r["selected"])
    except StorageBenchError as exc:  # the main fit stands; only the held-out checks need a larger grid
        summary["held_out_note"] = str(exc)
    try:
        summary["extrapolation"] = extrapolation(n, L, err)
    except StorageBenchError as exc:
        summary["extrapolation_note"] = str(exc)
    summary["bootstrap"] = {"confidence": CONFIDENCE, **bootstrap(law, n, L, err, budgets, replicates)}
    try:
        summary["allocation"] = allocation_table(law, budgets, grid=(float(n.max()), float(L.min()), float(L.max())))
    except StorageBenchError as exc:
        summary["allocation_error"] = str(exc)
    return summary


def describe(summary: dict) -> str:
    law = law_from_dict(summary["params"])
    paper = summary["paper_method"]["params"]
    boot = summary["bootstrap"]
    ci = {k: f"[{boot[k][0]:.3f}, {boot[k][1]:.3f}]" for k in ("alpha", "beta", "nu")}
    lines = [f"fit: Err = E* + A·n^-α + B·L^-β  (L in bytes, {summary['n_points']} points, robust)",
             f"  E* = {law.e_star:.4f}  A = {law.A:.4g}  α = {law.alpha:.4f}  B = {law.B:.4g}  β = {law.beta:.4f}",
             f"  ν = αβ/(α+β) = {law.nu:.4f}   R² = {summary['r2']:.4f}   R²(log) = {summary['r2_log']:.4f}",
             f"  {boot['confidence']:.0%} bootstrap ({boot['replicates']} refits): α {ci['alpha']}  β {ci['beta']}"
             f"  ν {ci['nu']}",
             f"  paper's method (curve_fit, linear, from the robust start): α = {paper['alpha']:.4f}  "
             f"β = {paper['beta']:.4f}  E* = {paper['e_star']:.4f}  R² = {summary['paper_method']['r2']:.4f}"]
    if "published" in summary:
        pub = law_from_dict(summary["published"])
        lines.append(f"  published fit (the benchmark's [published]): E* = {pub.e_star:.4f}  A = {pub.A:.4g}  "
                     f"α = {pub.alpha:.4f}  B = {pub.B:.4g}  β = {pub.beta:.4f}  ν = {pub.nu:.4f}")
    for note in ("held_out_note", "extrapolation_note"):
        if note in summary:
            lines.append(f"  held-out check skipped: {summary[note]}")
    if "forms" in summary:
        held = "  ".join(f"{f} {r['held_out_rmse_log']:.4f}" for f, r in summary["forms"].items())
        lines.append(f"  held-out RMS log error (leave one n out): {held}  → {summary['selected_form']} predicts "
                     f"held-out cells best")
        if summary["selected_form"] != law.form:
            lines.append(f"  the allocation below uses the {law.form} law: only a law with separate n and L terms "
                         f"has the closed-form n*(s) (the {summary['selected_form']} one has none)")
    if "extrapolation" in summary:
        ex = summary["extrapolation"]
        lines.append(f"  fit on n < {ex['held_out_n']:.0f}, predict n = {ex['held_out_n']:.0f}: mean relative error "
                     f"{ex['mean_relative_error']:.1%} ({ex['cells']} cells)")
    if "allocation" in summary:
        lines.append(format_allocation(summary["allocation"], law))
    else:
        lines.append(f"allocation: {summary['allocation_error']}")
    return "\n".join(lines)
