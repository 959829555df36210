"""Stylized multiresolution model behind the storage scaling law (Mentzer & Montanari, KDD'24, arXiv 2407.17954).

Features come in levels l = 0 .. levels-1: level l has q^l independent Gaussian coordinates of variance p^-l, and
the target y = <θ, x> + ε, ε ~ N(0, τ²), puts signal energy r^l on level l (r^l/q^l per coordinate). Compressing
to m levels keeps the first m levels, so a sample costs L = bits_per_coordinate · Σ_{l<m} q^l bits.

The learner is ridge regression, min (1/n)||y - Xθ||² + λ||θ||², with a fixed λ = ``ridge`` (no per-cell tuning),
on the n compressed samples. Since discarded coordinates are Gaussian and independent of the kept ones, their
signal is extra label noise for the learner: τ_eff² = τ² + E_d, E_d = Σ_{l≥m} r^l. With σ_i, θ_i the kept
coordinates, κ solving κ = λ + (κ/n) Σ σ_i/(σ_i+κ), df2 = Σ σ_i²/(σ_i+κ)² and bias = κ² Σ θ_i² σ_i/(σ_i+κ)²,
the test risk on fresh uncompressed samples is

    risk = (bias + τ_eff²·df2/n)/(1 - df2/n) + τ_eff²  =  (bias + τ² + E_d)/(1 - df2/n),

i.e. the kept-coordinate estimation error plus the noise plus the discarded signal; excess = risk - τ². As
n → ∞, κ → λ and the risk tends to τ² + E_d + λ²Σ θ_i² σ_i/(σ_i+λ)²: the last term, the fixed ridge's own
shrinkage, is negligible only while λ ≪ p^-(m-1). With the default λ = 1e-3 it is not for m ≥ 10 (≈ 0.83 at
m = 12), which flattens the large-n curves of the finest compressions; pass a smaller ``ridge`` to remove it.

More bits can hurt at small n, with the defaults, though only over a window of L. In the grid of `run_theory`
(m = 2..12), for n ≤ ~1000 the excess vs L rises where the kept dimension d = Σ_{l<m} q^l passes n: with a small
fixed ridge this is the double-descent (interpolation) peak, e.g. at n = 100 the excess goes 11.0 (m = 4) → 21.3
(m = 7), then falls again, and keeping every level is still best (each level still carries ≈ r^l ≈ 0.9 of
signal, and the unresolved fine levels act as an implicit ridge). For n ≥ ~1800 the curves are monotone. With
the ridge tuned per (n, m) the defaults give monotone curves at every n. More bits hurt for good when the signal
decays faster than the feature variance, e.g. r = 0.5: fine levels still add ≈ (q/p)^l ≈ 1 of variance each but
almost no signal, so at n = 1000 the optimum is m = 5 and keeping all 14 levels costs 2.6× its excess (still
≈ 1.15× with a tuned ridge), until n ≫ q^levels.

Caveat on the defaults: with r = 0.99 the energy per level decays slowly, so the model's own truncation at
``levels`` is not negligible in absolute terms (Σ_{l<14} r^l ≈ 13 of the untruncated 100); the finite model is
what is computed and checked here, and in it E_d is nearly linear in m = log_q L, which B·L^-β fits only roughly.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from storagebench.benchmarks.analysis import style
from storagebench.benchmarks.law.fit import fit_robust, law_dict, law_from_dict, quality
from storagebench.benchmarks.law.scaling_law import ScalingLaw


@dataclass(frozen=True)
class StylizedModel:
    p: float = 2.01
    q: float = 2.0
    r: float = 0.99
    tau: float = 1.0
    levels: int = 14
    ridge: float = 1e-3
    bits_per_coordinate: float = 1.0

    def __post_init__(self):
        if self.ridge <= 0 or self.levels < 1 or self.p <= 0 or self.q < 1 or self.r <= 0 or self.tau < 0:
            raise ValueError(f"need p > 0, q ≥ 1, r > 0, tau ≥ 0, ridge > 0 and levels ≥ 1; got p={self.p}, "
                             f"q={self.q}, r={self.r}, tau={self.tau}, ridge={self.ridge}, levels={self.levels}")

    def _level_arrays(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per kept level: multiplicity, coordinate variance σ, coordinate energy θ²σ."""
        l = np.arange(m, dtype=float)
        return self.q**l, self.p**-l, self.r**l / self.q**l

    def discarded_energy(self, m: int) -> float:
        return float(sum(self.r**l for l in range(m, self.levels)))

    def storage(self, m: int) -> float:
        return float(self.bits_per_coordinate * sum(self.q**l for l in range(m)))

    def effective_ridge(self, n: float, m: int) -> float:
        mult, sigma, _ = self._level_arrays(self._check_m(m))

        def gap(log_kappa: float) -> float:  # increasing in κ; zero at the fixed point
            kappa = np.exp(log_kappa)
            return 1.0 - self.ridge / kappa - np.sum(mult * sigma / (sigma + kappa)) / n

        hi = self.ridge + np.sum(mult * sigma) / n
        return float(np.exp(brentq(gap, np.log(self.ridge), np.log(hi) + 1e-12, xtol=1e-14)))

    def risk(self, n: float, m: int) -> float:
        mult, sigma, energy = self._level_arrays(self._check_m(m))
        kappa = self.effective_ridge(n, m)
        df2 = np.sum(mult * sigma**2 / (sigma + kappa) ** 2)
        bias = kappa**2 * np.sum(mult * energy / (sigma + kappa) ** 2)
        return float((bias + self.tau**2 + self.discarded_energy(m)) / (1.0 - df2 / n))

    def monte_carlo_risk(self, n: int, m: int, repeats: int = 4, seed: int = 0) -> float:
        """Mean over `repeats` ridge fits on n sampled full (uncompressed) points of the fit's test risk."""
        rng = np.random.default_rng(seed)
        return float(np.mean([self._one_trial(rng, int(n), self._check_m(m)) for _ in range(repeats)]))

    def _one_trial(self, rng: np.random.Generator, n: int, m: int) -> float:
        scale, theta, kept = self._coordinates(m)
        x = rng.standard_normal((n, scale.size)) * scale
        y = x @ theta + self.tau * rng.standard_normal(n)
        theta_hat = _ridge_fit(x[:, :kept], y, self.ridge)
        # The exact expectation over a fresh Gaussian test point (x, ε) given θ̂: a finite test set only adds noise.
        error = theta[:kept] - theta_hat
        return float(np.sum(scale[:kept] ** 2 * error**2) + np.sum((scale[kept:] * theta[kept:]) ** 2) + self.tau**2)

    def _coordinates(self, m: int) -> tuple[np.ndarray, np.ndarray, int]:
        counts = [int(round(self.q**l)) for l in range(self.levels)]
        level = np.repeat(np.arange(self.levels), counts)
        scale = self.p ** (-level / 2.0)
        theta = np.sqrt(self.r**level / self.q**level) / scale
        return scale, theta, sum(counts[:m])

    def _check_m(self, m: int) -> int:
        if not 1 <= m <= self.levels:
            raise ValueError(f"m must be in 1..{self.levels}, got {m}")
        return int(m)


def _ridge_fit(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """argmin (1/n)||y - xθ||² + ridge·||θ||², solved in whichever of the primal/dual systems is smaller."""
    n, d = x.shape
    if n >= d:
        return np.linalg.solve(x.T @ x / n + ridge * np.eye(d), x.T @ y / n)
    return x.T @ np.linalg.solve(x @ x.T / n + ridge * np.eye(n), y / n)


def theory_grid(model: StylizedModel, ns, ms) -> list[dict]:
    rows = []
    for m in ms:
        for n in ns:
            risk = model.risk(float(n), int(m))
            rows.append(
                {"n": float(n), "m": int(m), "L": model.storage(int(m)), "risk": risk, "excess": risk - model.tau**2}
            )
    return rows


def _columns(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.array([row[key] for row in rows], dtype=float) for key in ("n", "L", "excess"))


def fit_theory(rows: list[dict]) -> dict:
    """The same robust fit as measured grids get (benchmarks/law/fit.py), on the excess risk."""
    n, L, excess = _columns(rows)
    law = fit_robust(n, L, excess)
    return {**law_dict(law), "r2_log": quality(law, n, L, excess).r2_log}


def plot_theory(rows: list[dict], fit: dict, path) -> Path:
    path = Path(path)
    law = law_from_dict(fit)
    fig, (by_n, by_L) = style.figure(11, 4.5, cols=2)
    _panel(by_n, rows, curve_key="m", x_key="n", law=law)
    _panel(by_L, rows, curve_key="n", x_key="L", law=law)
    by_n.set(xlabel="samples n", ylabel="excess test error (risk - τ²)", title="vs n, one curve per levels m")
    by_L.set(xlabel="bits per sample L", title="vs L, one curve per n (dashed: fitted law)")
    fig.suptitle(f"stylized model: α = {fit['alpha']:.3g}, β = {fit['beta']:.3g}, R²(log) = {fit['r2_log']:.3f}")
    return style.save(fig, path)


def _panel(ax, rows: list[dict], curve_key: str, x_key: str, law: ScalingLaw) -> None:
    keys = sorted({row[curve_key] for row in rows})
    colors = style.colors("viridis", len(keys))
    for key, color in zip(keys, colors):
        curve = sorted((row for row in rows if row[curve_key] == key), key=lambda row: row[x_key])
        n, L, excess = _columns(curve)
        label = f"m={key} (L={curve[0]['L']:.0f})" if curve_key == "m" else f"n={key:.0f}"
        ax.plot(n if x_key == "n" else L, excess, "o-", color=color, ms=3, label=label)
        ax.plot(n if x_key == "n" else L, law.predict(n, L), "--", color=color, lw=0.8)
    style.log_axis(ax)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(True, which="both", alpha=0.3)


def _more_bits_hurt(rows: list[dict], tolerance: float = 0.01) -> dict:
    """Per n: the largest ratio excess(next L)/excess(L), and the n whose risk-vs-L curve turns up anywhere."""
    rises = {}
    for n in sorted({row["n"] for row in rows}):
        excess = [row["excess"] for row in sorted((r for r in rows if r["n"] == n), key=lambda r: r["L"])]
        rises[n] = max(later / earlier for earlier, later in zip(excess, excess[1:]))
    hurt = [n for n, rise in rises.items() if rise > 1.0 + tolerance]
    smallest_n = min(rises)
    return {"ns": hurt, "largest_rise": max(rises.values()), "holds_at_smallest_n": smallest_n in hurt}


def run_theory(out_dir: Path, model: StylizedModel = StylizedModel()) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ns = np.unique(np.round(np.geomspace(1e2, 1e5, 13)))
    rows = theory_grid(model, ns, range(2, model.levels - 1))
    fit = fit_theory(rows)
    summary = {"params": asdict(model), "fit": fit, "more_bits_hurt": _more_bits_hurt(rows)}
    (out_dir / "theory.json").write_text(json.dumps({**summary, "rows": rows}, indent=2))
    png = plot_theory(rows, fit, out_dir / "theory.png")
    return {**summary, "json": str(out_dir / "theory.json"), "png": str(png)}
