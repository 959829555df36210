"""Everything ``fits.json`` reports about a grid: the robust fit and the paper's, the alternative forms chosen by
held-out error, bootstrap intervals, extrapolation to the largest n, and the optimal allocation."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from storagebench.benchmarks.allocation import allocation_table, format_allocation
from storagebench.benchmarks.fit import fit_paper, fit_robust, law_dict, law_from_dict, quality
from storagebench.benchmarks.uncertainty import CONFIDENCE, bootstrap, compare_forms, extrapolation
from storagebench.errors import StorageBenchError


def default_budgets(n: np.ndarray, L: np.ndarray, count: int = 4) -> list[float]:
    """Budgets spanning the storage the grid measured (s = n·L of its cells)."""
    s = n * L
    return [float(b) for b in np.geomspace(s.min(), s.max(), count)]


def analyse(n: np.ndarray, L: np.ndarray, err: np.ndarray, budgets: list[float] | None = None,
            replicates: int = 200) -> dict:
    n, L, err = (np.asarray(a, dtype=float) for a in (n, L, err))
    too_small = [s for s in budgets or [] if s < L.min()]
    if too_small:
        raise StorageBenchError(f"budget {min(too_small):.0f} bytes is smaller than one compressed image "
                                f"(smallest measured L = {L.min():.0f} bytes)")
    law = fit_robust(n, L, err)
    paper = fit_paper(n, L, err, start=law)
    budgets = budgets or default_budgets(n, L)
    summary: dict = {
        "form": "E* + A*n^-alpha + B*L^-beta", "params": law_dict(law), **asdict(quality(law, n, L, err)),
        "method": "Huber loss on log error; variable projection (grid over alpha, beta with NNLS for the "
                  "coefficients) refined by least squares",
        "paper_method": {"params": law_dict(paper), **asdict(quality(paper, n, L, err)),
                         "method": "scipy.optimize.curve_fit in linear space"},
        "budgets": budgets,
    }
    try:
        forms = compare_forms(n, L, err)
        summary["forms"] = {f: {"params": law_dict(r["law"]), "held_out_rmse_log": r["held_out_rmse_log"],
                                "selected": r["selected"]} for f, r in forms.items()}
        summary["selected_form"] = next(f for f, r in forms.items() if r["selected"])
        summary["leave_one_budget_out_rmse_log"] = forms["additive"]["held_out_rmse_log"]
        summary["extrapolation"] = extrapolation(n, L, err)
    except StorageBenchError as exc:  # the main fit stands; only the held-out checks need a larger grid
        summary["held_out_note"] = str(exc)
    summary["bootstrap"] = {"confidence": CONFIDENCE, **bootstrap(law, n, L, err, budgets, replicates)}
    try:
        summary["allocation"] = allocation_table(law, budgets, min_L=float(L.min()),
                                                 grid=(float(n.max()), float(L.min()), float(L.max())))
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
             f"  paper's method (curve_fit, linear): α = {paper['alpha']:.4f}  β = {paper['beta']:.4f}  "
             f"E* = {paper['e_star']:.4f}  R² = {summary['paper_method']['r2']:.4f}"]
    if "held_out_note" in summary:
        lines.append(f"  held-out checks skipped: {summary['held_out_note']}")
    if "forms" in summary:
        held = "  ".join(f"{f} {r['held_out_rmse_log']:.4f}" for f, r in summary["forms"].items())
        lines.append(f"  held-out RMS log error (leave one n out): {held}  → {summary['selected_form']}")
        ex = summary["extrapolation"]
        lines.append(f"  fit on n < {ex['held_out_n']:.0f}, predict n = {ex['held_out_n']:.0f}: mean relative error "
                     f"{ex['mean_relative_error']:.1%} ({ex['cells']} cells)")
    if "allocation" in summary:
        lines.append(format_allocation(summary["allocation"], law))
    else:
        lines.append(f"allocation: {summary['allocation_error']}")
    return "\n".join(lines)
