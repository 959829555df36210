"""Fit the storage scaling law ``Err(n, L) = E* + A·n^-α + B·L^-β`` (Mentzer & Montanari, 2024).

For fixed (α, β) the law is linear in (E*, A, B), so a grid over (α, β) with non-negative least squares in
relative error gives a global starting point; ``scipy.optimize.least_squares`` on log error then refines all five
parameters under E*, A, B ≥ 0 and α, β > 0. (The robust fitting issue deepens this: Huber loss, bootstrap,
alternative forms.)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares, nnls

from storagebench.errors import StorageBenchError

ALPHA_GRID = np.geomspace(0.01, 2.0, 48)
BETA_GRID = np.geomspace(0.01, 4.0, 48)
EXPONENT_BOUNDS = (1e-3, 8.0)


@dataclass(frozen=True)
class ScalingLaw:
    e_star: float
    A: float
    alpha: float
    B: float
    beta: float

    def predict(self, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        n, L = np.asarray(n, dtype=float), np.asarray(L, dtype=float)
        return self.e_star + self.A * n ** -self.alpha + self.B * L ** -self.beta

    @property
    def nu(self) -> float:
        """Excess error at the optimal allocation falls as s^-ν."""
        return self.alpha * self.beta / (self.alpha + self.beta)


@dataclass(frozen=True)
class FitResult:
    law: ScalingLaw
    r2: float  # on error
    r2_log: float  # on log error
    rmse_log: float
    n_points: int

    def as_dict(self) -> dict:
        return {"form": "E* + A*n^-alpha + B*L^-beta", "params": asdict(self.law), "nu": self.law.nu,
                "r2": self.r2, "r2_log": self.r2_log, "rmse_log": self.rmse_log, "n_points": self.n_points,
                "method": "grid over (alpha, beta) with NNLS for (E*, A, B), refined by least squares on log error"}


def _nnls_at(alpha: float, beta: float, n: np.ndarray, L: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, float]:
    design = np.column_stack([np.ones_like(n), n ** -alpha, L ** -beta])
    scale = design.max(axis=0)
    coef, _ = nnls(design / scale / err[:, None], np.ones_like(err))
    coef = coef / scale
    pred = design @ coef
    if np.any(pred <= 0):
        return coef, np.inf
    return coef, float(np.sum(np.log(pred / err) ** 2))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((y - pred) ** 2) / total) if total > 0 else float("nan")


def fit_scaling_law(n: np.ndarray, L: np.ndarray, err: np.ndarray) -> FitResult:
    n, L, err = (np.asarray(a, dtype=float) for a in (n, L, err))
    if len(np.unique(n)) < 2 or len(np.unique(np.round(L, 6))) < 2 or len(err) < 5:
        raise StorageBenchError(f"the fit needs ≥ 2 distinct n, ≥ 2 distinct L and ≥ 5 points; got "
                                f"{len(np.unique(n))} n, {len(np.unique(L))} L, {len(err)} points")
    if np.any(err <= 0) or np.any(n <= 0) or np.any(L <= 0):
        raise StorageBenchError("the fit needs positive n, L and error")
    best = min(((a, b) for a in ALPHA_GRID for b in BETA_GRID), key=lambda ab: _nnls_at(*ab, n, L, err)[1])
    coef, _ = _nnls_at(*best, n, L, err)
    start = np.array([coef[0], coef[1], best[0], coef[2], best[1]])

    def residuals(p: np.ndarray) -> np.ndarray:
        pred = p[0] + p[1] * n ** -p[2] + p[3] * L ** -p[4]
        return np.log(np.maximum(pred, 1e-12) / err)

    lower = [0, 0, EXPONENT_BOUNDS[0], 0, EXPONENT_BOUNDS[0]]
    upper = [np.inf, np.inf, EXPONENT_BOUNDS[1], np.inf, EXPONENT_BOUNDS[1]]
    refined = least_squares(residuals, np.clip(start, lower, upper), bounds=(lower, upper), x_scale="jac")
    p = refined.x if np.sum(refined.fun ** 2) <= np.sum(residuals(start) ** 2) else start
    law = ScalingLaw(*map(float, p))
    pred = law.predict(n, L)
    log_res = np.log(pred / err)
    return FitResult(law, _r2(err, pred), _r2(np.log(err), np.log(pred)), float(np.sqrt(np.mean(log_res ** 2))),
                     len(err))
