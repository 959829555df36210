"""The leaderboard's figures: per board the storage curves of every entry and baseline (its ranked set's mean error
with its interval, and the fit's prediction, against the budget); per entry its scaling fit and cross-compression matrix, drawn from the entry's
own numbers so entries from JSON files get them too; and the tasks-compared figure (error vs storage per task)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.analysis import style
from storagebench.benchmarks.analysis.figures import plot_fit
from storagebench.benchmarks.analysis.matrix import matrix_from_rows, plot_matrix
from storagebench.leaderboard.ranking import entry_law, optimum
from storagebench.leaderboard.sources import Board, display_name, entry_id


def _series(ranked: dict[str, Any], group: str, row_id: str) -> tuple[list[float], list[float], np.ndarray]:
    """Budgets, mean errors, and the intervals as error-bar extents (2 × points; zero where there is none)."""
    rows = [(float(budget), row) for budget, tables in ranked["rankings"].items()
            for row in tables[group] if row["id"] == row_id and row["measured_error"] is not None]
    spans = np.array([[row["measured_error"] - (row.get("measured_error_lo") or row["measured_error"]),
                       (row.get("measured_error_hi") or row["measured_error"]) - row["measured_error"]]
                      for _, row in rows]).reshape(-1, 2).T
    return [s for s, _ in rows], [row["measured_error"] for _, row in rows], spans


def storage_figure(ranked: dict[str, Any], board: Board, path: Path) -> Path:
    """Error vs storage budget: markers are each entry's ranked set (mean over the protocol's seeds, 95 % interval as
    error bars), dashed lines each entry's fitted law at its optimal allocation, black the baselines."""
    fig, ax = style.figure(10.5, 5)
    budgets = np.geomspace(min(board.budgets) / 1.5, max(board.budgets) * 1.5, 80)
    colors = style.colors("tab20", len(board.entries))
    names = [e["compressor"]["name"] for e in board.entries]
    for color, entry in zip(colors, board.entries):
        s, err, spans = _series(ranked, "entries", entry_id(entry))
        short = entry["compressor"]["name"]
        ax.errorbar(s, err, yerr=spans, fmt="o-", color=color, capsize=2,
                    label=short if names.count(short) == 1 else display_name(entry))
        law = entry_law(entry)
        predicted = [optimum(law, b) for b in budgets]
        if all(p is not None for p in predicted):
            ax.plot(budgets, [p[2] for p in predicted], "--", color=color, lw=1, alpha=0.7)
    for marker, label in (("s:", "original format"), ("^:", "random subset")):
        s, err, spans = _series(ranked, "baselines", label.replace(" ", "-"))
        ax.errorbar(s, err, yerr=spans, fmt=marker, color="black", capsize=2, label=f"{label} (baseline)")
    style.log_axis(ax)
    ax.set_xlabel("storage budget s (bytes of training images)")
    ax.set_ylabel("test error")
    ax.set_title(f"{board.title}: ranked set's mean error, 95% interval (dashed: fit at n*(s))")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(True, which="both", alpha=0.3)
    return style.save(fig, path)


def fit_figure(entry: dict[str, Any], path: Path) -> Path | None:
    law = entry_law(entry)
    original = entry["benchmark"]["original_level"]
    points = [{"level": r["train_level"], "n": r["n"], "L": r["L"], "error": r["error"]}
              for r in entry["errors"] if r["test_level"] == original]
    if law is None or not points:
        return None
    return plot_fit(points, law, path, f"{display_name(entry)}: {entry['benchmark']['task']} on "
                                       f"{entry['benchmark']['dataset']} (test: {original})")


def entry_matrix(entry: dict[str, Any]) -> tuple | None:
    """The cross-compression matrix of an entry's errors (``matrix_from_rows``), None if it has none."""
    test_bytes = {t["test_level"]: t["bytes_per_image"] for t in entry["test_levels"]}
    rows = [{**r, "train_bytes_per_image": r["L"], "test_bytes_per_image": test_bytes[r["test_level"]]}
            for r in entry["errors"]]
    return matrix_from_rows(rows, [lv["level"] for lv in entry["levels"]], list(test_bytes)) if rows else None


def matrix_figure(entry: dict[str, Any], path: Path) -> Path | None:
    result = entry_matrix(entry)
    return None if result is None else plot_matrix(*result, path, display_name(entry))


def _curve(rows: list, key: str) -> tuple[list[float], list[float], np.ndarray]:
    """Budgets, means and error-bar extents of one benchmark's measured ``key`` sets (``optimal`` or ``original``)."""
    found = [(r.budget, getattr(r, key)) for r in rows if getattr(r, key) is not None]
    spans = np.array([[i.mean - i.low, i.high - i.mean] for _, i in found]).reshape(-1, 2).T
    return [b for b, _ in found], [i.mean for _, i in found], spans


def tasks_storage_figure(comparison: dict[str, Any], path: Path) -> Path:
    """Error vs storage for every compared task: its scaling-optimal sets (solid) and original-format sets (dotted),
    means over seeds with 95 % intervals, and its law at n*(s) (thin dashed)."""
    fig, ax = style.figure(10.5, 5)
    colors = style.colors("tab10", len(comparison["laws"]))
    for color, law in zip(colors, comparison["laws"]):
        rows = sorted((r for r in comparison["rows"] if r.benchmark == law.benchmark), key=lambda r: r.budget)
        label = f"{law.benchmark} ({law.task})"
        for key, fmt, tag in (("optimal", "o-", "scaling-optimal"), ("original", "s:", "original format")):
            s, err, spans = _curve(rows, key)
            if s:
                ax.errorbar(s, err, yerr=spans, fmt=fmt, color=color, capsize=2, label=f"{label}: {tag}")
        predicted = [(r.budget, r.predicted_error) for r in rows if r.predicted_error is not None]
        if predicted:
            ax.plot(*zip(*predicted), "--", color=color, lw=1, alpha=0.7, label=f"{label}: law at n*(s)")
    style.log_axis(ax)
    ax.set_xlabel("storage budget s (bytes of training images)")
    ax.set_ylabel("test error (1 − the task's metric)")
    ax.set_title("tasks at equal storage: mean over seeds, 95% interval")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(True, which="both", alpha=0.3)
    return style.save(fig, path)
