"""How far to trust a fit: held-out error per law form (leave-one-budget-out), bootstrap intervals, and
extrapolation to the largest budget from the smaller ones.

In a grid of cells a *budget* is one training-set size n: leaving one out tests whether the law predicts a
sample count it has not seen; the largest n is also held out alone for the extrapolation check.
"""
from __future__ import annotations

import numpy as np

from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.fit import fit_robust, refine_projected
from storagebench.benchmarks.law.forms import form_names
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError

CONFIDENCE = 0.90


def leave_one_budget_out(n: np.ndarray, L: np.ndarray, err: np.ndarray, form: str) -> float:
    """RMS log error on each n held out in turn (fit on the rest)."""
    residuals = []
    for held in np.unique(n):
        train = n != held
        try:
            law = fit_robust(n[train], L[train], err[train], form)
        except StorageBenchError:  # too few cells left to fit without this n
            continue
        residuals.append(np.log(law.predict(n[~train], L[~train]) / err[~train]))
    if not residuals:
        raise StorageBenchError("leave-one-budget-out needs a fittable grid after removing any one n "
                                "(≥ 3 distinct n and ≥ 5 cells left)")
    return float(np.sqrt(np.mean(np.concatenate(residuals) ** 2)))


def compare_forms(n: np.ndarray, L: np.ndarray, err: np.ndarray) -> dict[str, dict]:
    """Each form's fit and held-out error; ``selected`` marks the lowest held-out error."""
    results = {form: {"law": fit_robust(n, L, err, form), "held_out_rmse_log": leave_one_budget_out(n, L, err, form)}
               for form in form_names()}
    best = min(results, key=lambda f: results[f]["held_out_rmse_log"])
    for form, result in results.items():
        result["selected"] = form == best
    return results


def extrapolation(n: np.ndarray, L: np.ndarray, err: np.ndarray, form: str = "additive") -> dict:
    """Fit on cells with n below the largest, predict the largest: mean relative error of the prediction."""
    largest = n.max()
    train = n < largest
    law = fit_robust(n[train], L[train], err[train], form)  # raises if the smaller cells cannot be fitted
    predicted = law.predict(n[~train], L[~train])
    return {"held_out_n": float(largest), "cells": int((~train).sum()),
            "mean_relative_error": float(np.mean(np.abs(predicted / err[~train] - 1))),
            "measured_mean_error": float(err[~train].mean()), "predicted_mean_error": float(predicted.mean())}


def bootstrap(law: ScalingLaw, n: np.ndarray, L: np.ndarray, err: np.ndarray, budgets: list[float],
              replicates: int = 200, seed: int = 0) -> dict[str, list[float]]:
    """Percentile intervals from refits on points (cells × seeds) resampled with replacement."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {"alpha": [], "beta": [], "nu": [], "e_star": []}
    n_star: list[list[float]] = []
    degenerate = 0
    allocate = bool(budgets) and law.allocatable
    for _ in range(replicates):
        pick = rng.integers(0, len(err), len(err))
        if len(np.unique(n[pick])) < 2 or len(np.unique(L[pick])) < 2:
            continue
        refit = refine_projected(law, n[pick], L[pick], err[pick])
        for key in ("alpha", "beta", "e_star"):
            samples[key].append(getattr(refit, key))
        samples["nu"].append(refit.nu)
        if allocate:
            try:
                n_star.append([optimal_n(refit, s) for s in budgets])
            except StorageBenchError:  # no n or no L term, or n* at 0 or ∞, for this resample: counted, not averaged
                degenerate += 1
    tail = 100 * (1 - CONFIDENCE) / 2
    intervals = {k: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for k, v in samples.items()}
    if n_star:
        per_budget = np.array(n_star)
        intervals["n_star"] = [[float(np.percentile(per_budget[:, i], tail)),
                                float(np.percentile(per_budget[:, i], 100 - tail))] for i in range(len(budgets))]
    intervals["replicates"] = len(samples["alpha"])
    if degenerate:
        intervals["n_star_degenerate_refits"] = degenerate
    return intervals
