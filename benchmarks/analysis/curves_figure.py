"""The storage-curves figure: error vs budget per scheme; n and L vs budget; each scheme relative to optimal."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.analysis import style
from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.scaling_law import ScalingLaw


def _series(summary: dict[str, Any], scheme: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(float(b), v[scheme][key]) for b, v in summary["table"].items() if scheme in v]
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def plot_curves(summary: dict[str, Any], law: ScalingLaw, path: Path) -> Path:
    schemes = list(dict.fromkeys(s for v in summary["table"].values() for s in v))
    fig, (err_ax, alloc_ax, rel_ax) = style.figure(17, 5, cols=3)
    colors = dict(zip(schemes, style.colors("tab10", len(schemes))))
    for scheme in schemes:
        s, err = _series(summary, scheme, "error")
        err_ax.plot(s, err, "o-", color=colors[scheme], label=scheme, lw=2.2 if scheme == "optimal" else 1.2)
    budgets = np.geomspace(
        min(float(b) for b in summary["table"]), max(float(b) for b in summary["table"]), 60)
    n_star = np.array([optimal_n(law, b) for b in budgets])
    err_ax.plot(budgets, law.predict(n_star, budgets / n_star), "k--", lw=1, label="fit at n*(s) (grid only)")
    prediction = summary.get("held_out_prediction")
    if prediction:
        err_ax.annotate(f"held out: predicted {prediction['predicted_error']:.3f}\nmeasured "
                        f"{prediction['measured_error']:.3f} ({prediction['relative_error']:.1%} off)",
                        (prediction["budget"], prediction["measured_error"]), textcoords="offset points",
                        xytext=(-150, 30), fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.8})
    err_ax.set(xlabel="storage budget s (bytes)", ylabel="test error (original format)", title="error vs storage")
    for scheme, line in (("optimal", "-"), ("original", ":")):
        if scheme in schemes:
            s, n = _series(summary, scheme, "n")
            alloc_ax.plot(s, n, "o" + line, color="tab:blue", label=f"n, {scheme}")
    twin = alloc_ax.twinx()
    for scheme, line in (("optimal", "-"), ("original", ":")):
        if scheme in schemes:
            s, L = _series(summary, scheme, "L")
            twin.plot(s, L, "s" + line, color="tab:red", label=f"L, {scheme}")
    alloc_ax.set(xlabel="storage budget s (bytes)", ylabel="training images n",
                 title="allocation: n (blue) and L (red)")
    twin.set(ylabel="bytes per image L")
    style.log_axis(twin, "y")
    alloc_ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)
    for scheme in schemes:
        if scheme == "optimal":
            continue
        s, err = _series(summary, scheme, "error")
        s_opt, err_opt = _series(summary, "optimal", "error")
        common = np.isin(s, s_opt)
        ratio = err[common] / err_opt[np.isin(s_opt, s[common])]
        rel_ax.plot(s[common], ratio, "o-", color=colors[scheme], label=scheme)
    rel_ax.axhline(1.0, color="k", lw=1)
    rel_ax.set(xlabel="storage budget s (bytes)", ylabel="error ÷ error of scaling-optimal",
               title="relative to scaling-optimal (>1: optimal is better)")
    for ax, which in ((err_ax, "both"), (alloc_ax, "both"), (rel_ax, "x")):
        style.log_axis(ax, which)
        ax.grid(True, which="both", alpha=0.3)
    err_ax.legend(fontsize=8)
    rel_ax.legend(fontsize=8)
    return style.save(fig, path)
