"""Optimal allocation of a byte budget s = n·L under a fitted additive law.

Minimising A·n^-α + B·(s/n)^-β over n gives ``n*(s) = (αA/(βB))^(1/(α+β)) · s^(β/(α+β))``, ``L* = s/n*`` and an
excess error falling as s^-ν with ν = αβ/(α+β). ``optimal_n_numeric`` checks the closed form by direct search.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError
from storagebench.units import format_bytes


def budgets_for(n: np.ndarray, L: np.ndarray, budgets: list[float] | None = None) -> list[float]:
    """``budgets``, or by default four spanning the grid's storage (twice its smallest n·L to its largest); each must
    hold at least one image of the smallest measured L."""
    n, L = np.asarray(n, dtype=float), np.asarray(L, dtype=float)
    if not budgets:
        storage = n * L
        budgets = [float(f"{b:.3g}") for b in np.geomspace(2 * storage.min(), storage.max(), 4)]
    if min(budgets) < L.min():
        raise StorageBenchError(f"budget {min(budgets):.0f} bytes is smaller than one compressed image (smallest "
                                f"measured L = {L.min():.0f} bytes)")
    return list(budgets)


def _require_additive(law: ScalingLaw) -> None:
    if not law.allocatable or law.A <= 0 or law.B <= 0:
        raise StorageBenchError(f"allocation needs an additive law with A, B > 0 (got form {law.form!r}, "
                                f"A={law.A:.3g}, B={law.B:.3g})")


def optimal_n(law: ScalingLaw, s: float) -> float:
    _require_additive(law)
    a, b = law.alpha, law.beta
    with np.errstate(all="ignore"):  # in logs: a tiny α + β overflows a float power (then n* is degenerate)
        n_star = float(np.exp((np.log(a * law.A / (b * law.B)) + b * np.log(s)) / (a + b)))
    if not 0 < n_star < np.inf or not 0 < s / n_star < np.inf:
        raise StorageBenchError(f"allocation is degenerate for this fit (n* = {n_star:.3g} at s = {s:.3g}: one of "
                                f"the n and L terms is negligible, A={law.A:.3g}, B={law.B:.3g})")
    return n_star


def optimal_n_numeric(law: ScalingLaw, s: float) -> float:
    _require_additive(law)
    log_s = np.log(s)
    result = minimize_scalar(lambda log_n: float(law.predict(np.exp(log_n), s / np.exp(log_n))),
                             bounds=(log_s - 60, log_s + 60), method="bounded",
                             options={"xatol": 1e-9, "maxiter": 500})
    return float(np.exp(result.x))


def allocation_table(law: ScalingLaw, budgets: list[float],
                     grid: tuple[float, float, float] | None = None) -> list[dict]:
    """n*, L*, predicted error for each budget. ``grid`` = (largest n, smallest L, largest L) measured: rows outside
    it are marked as extrapolated."""
    rows = []
    for s in budgets:
        n_star = optimal_n(law, s)
        L_star = s / n_star
        rows.append({"s": s, "n_star": n_star, "L_star": L_star, "error": float(law.predict(n_star, L_star)),
                     "extrapolated": bool(grid and (n_star > grid[0] or not grid[1] <= L_star <= grid[2]))})
    return rows


def format_allocation(rows: list[dict], law: ScalingLaw) -> str:
    lines = [f"optimal allocation (ν = {law.nu:.4f}: excess error ∝ s^-ν)",
             f"{'budget s':>10} {'n* images':>12} {'L* per image':>13} {'pred. error':>11}"]
    lines += [f"{format_bytes(r['s']):>10} {r['n_star']:12,.0f} {format_bytes(r['L_star']):>13} {r['error']:11.4f}"
              f"{'  *' if r.get('extrapolated') else ''}" for r in rows]
    if any(r.get("extrapolated") for r in rows):
        lines.append("  * n* or L* lies outside the measured grid: the law is extrapolated there, treat it as a guess")
    return "\n".join(lines)
