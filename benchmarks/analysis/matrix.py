"""Cross-compression matrix: error of models trained at each level (rows) evaluated at each test level (columns),
at the largest n of the grid, mean over seeds. Written as ``matrix.csv`` and ``figures/matrix.png``."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from storagebench.benchmarks.analysis import style
from storagebench.benchmarks.definition import level_order
from storagebench.benchmarks.harness.results_dir import open_results_dir
from storagebench.errors import StorageBenchError


def cross_compression(out: Path) -> tuple[int, list[str], list[str], np.ndarray, dict[str, float], dict[str, float]]:
    """(n, train levels, test levels, mean error matrix, bytes/image per train level, per test level)."""
    db, config = open_results_dir(out)
    with db:
        rows = [r.as_dict() for r in db.rows()]
    if not rows:
        raise StorageBenchError(f"{out}: no results yet; run the benchmark first")
    return matrix_from_rows(rows, level_order(config, "train_levels"), level_order(config, "test_levels"))


def matrix_from_rows(rows: list[dict], train_order: list[str], test_order: list[str]
                     ) -> tuple[int, list[str], list[str], np.ndarray, dict[str, float], dict[str, float]]:
    """The matrix at the largest n from rows with train_level, test_level, n, error, train_bytes_per_image and
    test_bytes_per_image (a results database's ``results`` view, or a leaderboard entry's errors)."""
    n = max(r["n"] for r in rows)
    rows = [r for r in rows if r["n"] == n]
    train = [lv for lv in train_order if any(r["train_level"] == lv for r in rows)]
    test = [lv for lv in test_order if any(r["test_level"] == lv for r in rows)]
    matrix = np.full((len(train), len(test)), np.nan)
    for i, tr in enumerate(train):
        for j, te in enumerate(test):
            errors = [r["error"] for r in rows if r["train_level"] == tr and r["test_level"] == te]
            matrix[i, j] = np.mean(errors) if errors else np.nan
    train_bytes = {lv: float(np.mean([r["train_bytes_per_image"] for r in rows if r["train_level"] == lv]))
                   for lv in train}
    test_bytes = {lv: float(np.mean([r["test_bytes_per_image"] for r in rows if r["test_level"] == lv]))
                  for lv in test}
    return n, train, test, matrix, train_bytes, test_bytes


def _label(level: str, mean_bytes: float) -> str:
    return f"{level if level == 'lossless' else 'd=' + level}\n{mean_bytes:.0f} B"


def plot_matrix(n: int, train: list[str], test: list[str], matrix: np.ndarray, train_bytes: dict[str, float],
                test_bytes: dict[str, float], path: Path, title: str = "") -> Path:
    fig, ax = style.figure(1.4 * len(test) + 3, 0.6 * len(train) + 2.5)
    image = ax.imshow(matrix, cmap="magma_r", aspect="auto")
    ax.set_xticks(range(len(test)), [_label(lv, test_bytes[lv]) for lv in test], fontsize=8)
    ax.set_yticks(range(len(train)), [_label(lv, train_bytes[lv]).replace("\n", ", ") for lv in train], fontsize=8)
    ax.set_xlabel("test level (mean bytes per test image)")
    ax.set_ylabel("train level (mean bytes per training image)")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8,
                color="white" if value > np.nanmean(matrix) else "black")
    fig.colorbar(image, ax=ax, label="test error")
    ax.set_title(f"{title}{': ' if title else ''}cross-compression error at n = {n}")
    return style.save(fig, path)


def write_matrix(out: Path) -> tuple[str, Path, Path]:
    n, train, test, matrix, train_bytes, test_bytes = cross_compression(out)
    csv_path = out / "matrix.csv"
    tmp = csv_path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["train_level", "train_bytes_per_image", "n"]
                        + [f"test {lv} ({test_bytes[lv]:.1f} B)" for lv in test])
        for i, lv in enumerate(train):
            writer.writerow([lv, f"{train_bytes[lv]:.1f}", n] + [f"{e:.5f}" for e in matrix[i]])
    os.replace(tmp, csv_path)

    figure = plot_matrix(n, train, test, matrix, train_bytes, test_bytes, out / "figures" / "matrix.png")

    width = max(12, *(len(lv) + 2 for lv in test))
    lines = [f"cross-compression error at n = {n} (rows: train level, columns: test level)",
             f"{'train':>10} {'bytes':>7} " + " ".join(f"{lv:>{width}}" for lv in test)]
    lines += [f"{lv:>10} {train_bytes[lv]:7.1f} " + " ".join(f"{e:>{width}.4f}" for e in matrix[i])
              for i, lv in enumerate(train)]
    return "\n".join(lines), csv_path, figure
