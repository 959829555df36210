"""Fit the storage scaling law ``Err(n, L) = E* + A·n^-α + B·L^-β`` (Mentzer & Montanari, 2024).

Robust method (default): for fixed (α, β) each law form is linear in its coefficients, so a grid over (α, β)
solves the coefficients by non-negative least squares in relative error (variable projection), re-weighted so
that large log residuals count by a Huber loss; ``scipy.optimize.least_squares(loss="huber")`` on log error then
refines all parameters under E*, A, B ≥ 0 and α, β > 0. The paper's method — ``scipy.optimize.curve_fit`` in
linear space — is offered for comparison. Forms: ``additive`` (the law above), ``no-floor`` (E* = 0) and
``multiplicative`` (``E* + A·n^-α·L^-β``), the alternatives the paper tried.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit, least_squares, minimize, nnls

from storagebench.benchmarks.law.forms import law_form
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError

ALPHA_GRID = np.geomspace(0.01, 2.0, 30)
BETA_GRID = np.geomspace(0.01, 4.0, 30)
EXPONENT_BOUNDS = (1e-3, 8.0)
HUBER_DELTA = 0.05  # on log error: residuals beyond ~5% count linearly, so one bad cell cannot drag the fit


def _bounds(form: str) -> tuple[list[float], list[float]]:
    lo, hi = EXPONENT_BOUNDS
    kinds = law_form(form).kinds  # c: coefficient, e: exponent
    return ([0.0 if k == "c" else lo for k in kinds], [np.inf if k == "c" else hi for k in kinds])


def _huber_cost(log_residual: np.ndarray) -> float:
    a = np.abs(log_residual)
    return float(np.where(a <= HUBER_DELTA, 0.5 * a ** 2, HUBER_DELTA * (a - 0.5 * HUBER_DELTA)).sum())


def _huber_weights(log_residual: np.ndarray) -> np.ndarray:
    a = np.abs(log_residual)
    return np.where(a <= HUBER_DELTA, 1.0, np.sqrt(HUBER_DELTA / np.maximum(a, 1e-300)))


def _project(form: str, alpha: float, beta: float, n: np.ndarray, L: np.ndarray, err: np.ndarray,
             reweight: int = 2) -> tuple[np.ndarray, float]:
    """Best non-negative coefficients at fixed (α, β), by IRLS with Huber weights; returns them and the loss."""
    design = law_form(form).columns(n, L, alpha, beta)
    scale = design.max(axis=0)
    weights = np.ones_like(err)
    for _ in range(reweight + 1):
        coef, _ = nnls(design / scale * (weights / err)[:, None], weights)
        coef = coef / scale
        pred = design @ coef
        if np.any(pred <= 0):
            return coef, np.inf
        residual = np.log(pred / err)
        weights = _huber_weights(residual)
    return coef, _huber_cost(residual)


def check_fit_data(n: np.ndarray, L: np.ndarray, err: np.ndarray) -> None:
    """One clear error for data the law cannot be fitted to."""
    for name, values in (("n", n), ("L", L), ("error", err)):
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise StorageBenchError(f"the fit needs finite, positive {name} values; got {values.min():.3g}..."
                                    f"{values.max():.3g}" + (" (an error of exactly 0 has no logarithm: use a larger "
                                                             "test split)" if name == "error" else ""))
    distinct_n, distinct_L = len(np.unique(n)), len(np.unique(np.round(L, 6)))
    if distinct_n < 2 or distinct_L < 2 or len(err) < 5:
        raise StorageBenchError(f"the fit needs ≥ 2 distinct n, ≥ 2 distinct L and ≥ 5 points; got "
                                f"{distinct_n} n, {distinct_L} L, {len(err)} points")


def refine(law: ScalingLaw, n: np.ndarray, L: np.ndarray, err: np.ndarray) -> ScalingLaw:
    """Local Huber least squares on log error from ``law``; keeps ``law`` if it does not improve."""
    form = law_form(law.form)
    lower, upper = _bounds(law.form)

    def residuals(p: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(form.unpack(p).predict(n, L), 1e-12) / err)

    def jacobian(p: np.ndarray) -> np.ndarray:
        pred = np.maximum(form.unpack(p).predict(n, L), 1e-12)
        return form.gradient(p, n, L) / pred[:, None]

    start = np.clip(form.pack(law), lower, upper)
    result = least_squares(residuals, start, jac=jacobian, bounds=(lower, upper), loss="huber",
                           f_scale=HUBER_DELTA, x_scale="jac", max_nfev=100)
    improved = _huber_cost(residuals(result.x)) <= _huber_cost(residuals(start))
    return form.unpack(result.x) if improved else law


def refine_projected(law: ScalingLaw, n: np.ndarray, L: np.ndarray, err: np.ndarray) -> ScalingLaw:
    """Local search over (α, β) only, the coefficients solved exactly at each step: cheap and well-conditioned,
    for the many refits of a bootstrap."""
    lo, hi = np.log(EXPONENT_BOUNDS)

    def loss(log_ab: np.ndarray) -> float:
        if np.any(log_ab < lo) or np.any(log_ab > hi):
            return np.inf
        return _project(law.form, *np.exp(log_ab), n, L, err)[1]

    result = minimize(loss, np.log([law.alpha, law.beta]), method="Nelder-Mead",
                      options={"xatol": 1e-4, "fatol": 1e-12, "maxfev": 400})
    alpha, beta = np.exp(result.x)
    return law_form(law.form).from_coefficients(_project(law.form, alpha, beta, n, L, err)[0], alpha, beta)


def fit_robust(n: np.ndarray, L: np.ndarray, err: np.ndarray, form: str = "additive") -> ScalingLaw:
    n, L, err = (np.asarray(a, dtype=float) for a in (n, L, err))
    check_fit_data(n, L, err)
    best = min(((a, b) for a in ALPHA_GRID for b in BETA_GRID),
               key=lambda ab: _project(form, *ab, n, L, err, reweight=0)[1])
    coef, _ = _project(form, *best, n, L, err)
    return refine(law_form(form).from_coefficients(coef, *best), n, L, err)


def fit_paper(n: np.ndarray, L: np.ndarray, err: np.ndarray, start: ScalingLaw | None = None) -> ScalingLaw:
    """The paper's method: ``curve_fit`` of the additive law in linear space (bounded, non-negative)."""
    n, L, err = (np.asarray(a, dtype=float) for a in (n, L, err))
    check_fit_data(n, L, err)
    additive = law_form("additive")
    p0 = additive.pack(start) if start is not None and start.form == "additive" else [err.min() / 2, 1.0, 0.3, 1.0,
                                                                                          0.5]
    lower, upper = _bounds("additive")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        p, _ = curve_fit(lambda x, e, a, al, b, be: e + a * x[0] ** -al + b * x[1] ** -be, np.vstack([n, L]), err,
                         p0=np.clip(p0, lower, upper), bounds=(lower, upper), maxfev=20000)
    return additive.unpack(p)


@dataclass(frozen=True)
class FitQuality:
    r2: float  # on error
    r2_log: float  # on log error
    rmse_log: float
    n_points: int


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((y - pred) ** 2) / total) if total > 0 else float("nan")


def quality(law: ScalingLaw, n: np.ndarray, L: np.ndarray, err: np.ndarray) -> FitQuality:
    pred, err = law.predict(n, L), np.asarray(err, dtype=float)
    return FitQuality(_r2(err, pred), _r2(np.log(err), np.log(pred)),
                      float(np.sqrt(np.mean(np.log(pred / err) ** 2))), len(err))


def law_dict(law: ScalingLaw) -> dict:
    return {**asdict(law), "nu": law.nu}


def law_from_dict(params: dict) -> ScalingLaw:
    """Inverse of ``law_dict``: the law's own fields; derived keys (``nu``, qualities stored beside them) are left."""
    return ScalingLaw(**{f.name: params[f.name] for f in fields(ScalingLaw) if f.name in params})
