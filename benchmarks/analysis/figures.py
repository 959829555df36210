"""Figures of a results dir: what a person would rather look at than read."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from storagebench.benchmarks.analysis import style
from storagebench.benchmarks.law.scaling_law import ScalingLaw


def _mean_by(points: list[dict], keys: tuple[str, ...]) -> dict[tuple, tuple[float, float]]:
    """Mean error (and mean L) over seeds for each combination of ``keys``."""
    groups: dict[tuple, list[dict]] = {}
    for p in points:
        groups.setdefault(tuple(p[k] for k in keys), []).append(p)
    return {k: (float(np.mean([p["error"] for p in g])), float(np.mean([p["L"] for p in g])))
            for k, g in groups.items()}


def plot_fit(points: list[dict], law: ScalingLaw, path: Path, title: str) -> Path:
    """Left: error vs n, one curve per level (its mean L); right: error vs L, one curve per n. Log-log; markers
    are measurements (mean over seeds), lines the fitted law."""
    by_level_n = _mean_by(points, ("level", "n"))
    levels = sorted({p["level"] for p in points}, key=lambda lv: -np.mean([p["L"] for p in points if p["level"] == lv]))
    ns = sorted({p["n"] for p in points})
    fig, (left, right) = style.figure(12, 4.8, cols=2)
    colors = style.colors("viridis", len(levels))
    n_dense = np.geomspace(min(ns), max(ns), 100)
    for color, level in zip(colors, levels):
        measured = sorted((n, *by_level_n[(level, n)]) for n in ns if (level, n) in by_level_n)
        mean_L = float(np.mean([m[2] for m in measured]))
        left.plot([m[0] for m in measured], [m[1] for m in measured], "o", color=color,
                  label=f"{level} (L≈{mean_L:.0f} B)")
        left.plot(n_dense, law.predict(n_dense, np.full_like(n_dense, mean_L)), "-", color=color, alpha=0.8)
    all_L = [p["L"] for p in points]
    L_dense = np.geomspace(min(all_L), max(all_L), 100)
    for color, n in zip(style.colors("plasma", len(ns), stop=0.85), ns):
        measured = sorted((v[1], v[0]) for (lv, nn), v in by_level_n.items() if nn == n)
        right.plot([m[0] for m in measured], [m[1] for m in measured], "o", color=color, label=f"n={n}")
        right.plot(L_dense, law.predict(np.full_like(L_dense, n), L_dense), "-", color=color, alpha=0.8)
    for ax, xlabel in ((left, "training images n"), (right, "bytes per training image L")):
        style.log_axis(ax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}\nErr = {law.e_star:.3g} + {law.A:.3g}·n^-{law.alpha:.3f} + {law.B:.3g}·L^-{law.beta:.3f}")
    return style.save(fig, path)
