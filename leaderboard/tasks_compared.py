"""Tasks compared at equal storage, read from their results dirs (e.g. the scenes-cls, scenes-seg and scenes-det
standard benchmarks: one dataset, three targets, the same bytes). For each task: its law (α, β, ν with the fit's
bootstrap intervals, R², extrapolation to the largest n), what its grid measured (the fall of error from the smallest
to the largest n, the most compressed training level against lossless with the seed-to-seed sd), and its
cross-compression matrix; at every budget: n*(s) and L*(s) from its law, and the storage curves' scaling-optimal and
original-format sets (mean over seeds with a 95 % t-interval) with the gain of optimal over original, seed by seed.
``write_comparison`` writes ``comparison.json``, ``comparison.md`` and one figure of error vs storage."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.atomic import write_json_atomic, write_text_atomic
from storagebench.benchmarks.analysis.fits import current_fit, fit_results_dir, original_points
from storagebench.benchmarks.analysis.matrix import cross_compression
from storagebench.benchmarks.definition import level_order
from storagebench.benchmarks.harness.results_dir import open_results_dir
from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.fit import law_from_dict
from storagebench.errors import StorageBenchError
from storagebench.provenance import git_commit
from storagebench.units import format_bytes
from storagebench.leaderboard.statistics import Interval, mean_interval


@dataclass(frozen=True)
class TaskLaw:
    """One results dir: its task, its fit and what its grid measured on original-format test images."""

    benchmark: str
    task: str
    dataset: str
    compressor: str
    seeds: list[int]
    alpha: float
    beta: float
    nu: float
    e_star: float
    r2: float
    intervals: dict[str, list[float]]  # alpha, beta, nu: the fit's bootstrap percentile interval
    confidence: float
    extrapolation_error: float | None  # fit on n below the largest, predict the largest: mean relative error
    smallest_n: int
    largest_n: int
    lossless_error: dict[str, float]  # at the smallest and the largest n (original-level training), mean over seeds
    error_fall: float  # 1 − largest ÷ smallest
    most_compressed: str
    compressed_gap: float  # most compressed − original level at the largest n, mean over seeds
    seed_sd: float  # sd over seeds of the original level at the largest n
    note: str  # "" for a law worth reading; else why not (flat grid, poor fit)


@dataclass(frozen=True)
class BudgetRow:
    benchmark: str
    budget: float
    n_star: float | None
    n_star_interval: list[float] | None
    L_star: float | None
    predicted_error: float | None
    optimal: Interval | None
    original: Interval | None
    gain: Interval | None  # 1 − optimal ÷ original, seed by seed
    seeds: int


@dataclass(frozen=True)
class TaskMatrix:
    benchmark: str
    n: int
    train_levels: list[str]
    test_levels: list[str]
    errors: list[list[float]]
    train_bytes: dict[str, float]
    test_bytes: dict[str, float]


def _mean_at(points: list[dict], level: str, n: int) -> list[float]:
    return [p["error"] for p in points if p["level"] == level and p["n"] == n]


FLAT = 0.05  # a grid whose cell means span less than this, relative to their mean, is flat: no law to read
POOR_FIT = 0.5  # R² below this: the law does not describe the grid


def law_note(points: list[dict], r2: float) -> str:
    means = [np.mean([p["error"] for p in points if (p["level"], p["n"]) == key])
             for key in {(p["level"], p["n"]) for p in points}]
    spread = (max(means) - min(means)) / np.mean(means)
    if spread < FLAT:
        return f"flat: the grid's cell means span {spread:.1%} of their mean; not a fitted law"
    return f"poor fit: R² = {r2:.2f} < {POOR_FIT}; not a law to read" if r2 < POOR_FIT else ""


def task_law(out: Path) -> TaskLaw:
    points, config, original = original_points(out)
    fits = (current_fit(out) or fit_results_dir(out))[0]
    law, boot = law_from_dict(fits["params"]), fits["bootstrap"]
    ns = sorted({p["n"] for p in points})
    levels = [lv for lv in level_order(config) if any(p["level"] == lv for p in points)]
    top, first = _mean_at(points, original, ns[-1]), _mean_at(points, original, ns[0])
    if not top or not first:
        raise StorageBenchError(f"{out}: no {original} training cells at n = {ns[0]} and n = {ns[-1]}; run the "
                                f"benchmark to finish its grid")
    worst = min(levels, key=lambda lv: np.mean([p["L"] for p in points if p["level"] == lv]))  # fewest bytes
    return TaskLaw(
        benchmark=config["benchmark"]["name"], task=config["task"]["name"], dataset=config["dataset"]["name"],
        compressor=config["compressor"]["name"], seeds=sorted({p["seed"] for p in points}),
        alpha=law.alpha, beta=law.beta, nu=law.nu, e_star=law.e_star, r2=fits["r2"],
        intervals={k: boot[k] for k in ("alpha", "beta", "nu")}, confidence=boot["confidence"],
        extrapolation_error=fits.get("extrapolation", {}).get("mean_relative_error"),
        smallest_n=ns[0], largest_n=ns[-1],
        lossless_error={"smallest_n": float(np.mean(first)), "largest_n": float(np.mean(top))},
        error_fall=float(1 - np.mean(top) / np.mean(first)), most_compressed=worst,
        compressed_gap=float(np.mean(_mean_at(points, worst, ns[-1])) - np.mean(top)),
        seed_sd=float(np.std(top, ddof=1)) if len(top) > 1 else float("nan"), note=law_note(points, fits["r2"]))


def _by_seed(rows: list, budget: float, scheme: str) -> dict[int, float]:
    return {r.seed: r.error for r in rows if r.budget == budget and r.scheme == scheme}


def budget_rows(out: Path, budgets: list[float]) -> list[BudgetRow]:
    """n*, L* and the predicted error from the law at every budget; the measured curves where they were trained."""
    fits = (current_fit(out) or fit_results_dir(out))[0]
    law = law_from_dict(fits["params"])
    boot = dict(zip(fits.get("budgets", []), fits["bootstrap"].get("n_star", [])))
    db, config = open_results_dir(out)
    with db:
        curves = db.curve_rows()
    rows = []
    for budget in budgets:
        try:
            n_star = optimal_n(law, budget)
        except StorageBenchError:  # the law has no n or no L term: nothing to allocate
            n_star = None
        optimal, original = _by_seed(curves, budget, "optimal"), _by_seed(curves, budget, "original")
        paired = sorted(set(optimal) & set(original))
        gain = [1 - optimal[s] / original[s] for s in paired]
        rows.append(BudgetRow(
            benchmark=config["benchmark"]["name"], budget=budget, n_star=n_star, n_star_interval=boot.get(budget),
            L_star=None if n_star is None else budget / n_star,
            predicted_error=None if n_star is None else float(law.predict(n_star, budget / n_star)),
            optimal=mean_interval(list(optimal.values())) if optimal else None,
            original=mean_interval(list(original.values())) if original else None,
            gain=mean_interval(gain) if gain else None, seeds=len(paired)))
    return rows


def task_matrix(out: Path) -> TaskMatrix:
    db, config = open_results_dir(out)
    db.close()
    n, train, test, matrix, train_bytes, test_bytes = cross_compression(out)
    return TaskMatrix(config["benchmark"]["name"], n, train, test, matrix.tolist(), train_bytes, test_bytes)


def compare(dirs: list[Path], budgets: list[float] | None = None) -> dict[str, Any]:
    """Every dir's law, budget rows and matrix; ``budgets``: default the union of the dirs' declared budgets."""
    if len({d.resolve() for d in dirs}) != len(dirs):
        raise StorageBenchError("compare: a results dir is named twice")
    laws = [task_law(d) for d in dirs]
    if not budgets:
        budgets = sorted({float(b) for d in dirs for b in (current_fit(d) or fit_results_dir(d))[0]["budgets"]})
    rows = [row for d in dirs for row in budget_rows(d, budgets)]
    return {"laws": laws, "budgets": budgets, "rows": rows, "matrices": [task_matrix(d) for d in dirs],
            "sources": [str(d) for d in dirs]}


def as_json(comparison: dict[str, Any]) -> dict[str, Any]:
    return {**comparison, **{key: [asdict(item) for item in comparison[key]] for key in ("laws", "rows", "matrices")}}


def _interval(value: Interval | None, spec: str = ".4f") -> str:
    return "—" if value is None else f"{value.mean:{spec}} [{value.low:{spec}}, {value.high:{spec}}]"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def format_markdown(comparison: dict[str, Any]) -> str:
    """The comparison as markdown tables (what ``storagebench compare`` prints and the README shows)."""
    laws = comparison["laws"]
    confidence = f"{laws[0].confidence:.0%}" if laws else ""
    lines = [f"**Laws** (robust fit on original-format test images; α, β, ν with {confidence} bootstrap intervals)", "",
             "| benchmark | task | α | β | ν | R² | extrapolation to largest n | error at smallest → largest n "
             "| most compressed − lossless at largest n (seed sd) | note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for law in laws:
        ci = {k: f"{getattr(law, k):.3f} [{v[0]:.3f}, {v[1]:.3f}]" for k, v in law.intervals.items()}
        extrapolation = "—" if law.extrapolation_error is None else f"{law.extrapolation_error:.1%} off"
        lines.append(f"| {law.benchmark} | {law.task} | {ci['alpha']} | {ci['beta']} | {ci['nu']} | {law.r2:.3f} | "
                     f"{extrapolation} | {law.lossless_error['smallest_n']:.4f} (n = {law.smallest_n:,}) → "
                     f"{law.lossless_error['largest_n']:.4f} (n = {law.largest_n:,}): {-law.error_fall:+.0%} | "
                     f"{law.most_compressed}: {law.compressed_gap:+.4f} ({law.seed_sd:.4f}) | {law.note or '—'} |")
    lines += ["", "**At equal storage** (n*, L* from each law; measured sets: mean error over seeds, 95 % t-interval; "
              "gain = 1 − optimal ÷ original, seed by seed)", "",
              "| budget | benchmark | n* [interval] | L* bytes | predicted | scaling-optimal | original format | gain |",
              "|---|---|---|---|---|---|---|---|"]
    for row in sorted(comparison["rows"], key=lambda r: (r.budget, r.benchmark)):
        n_ci = "" if row.n_star_interval is None or row.n_star is None else \
            f" [{row.n_star_interval[0]:,.0f}, {row.n_star_interval[1]:,.0f}]"
        predicted = "—" if row.predicted_error is None else f"{row.predicted_error:.4f}"
        lines.append(f"| {format_bytes(row.budget)} | {row.benchmark} | {_count(row.n_star)}{n_ci} | "
                     f"{_count(row.L_star)} | {predicted} | {_interval(row.optimal)} | {_interval(row.original)} | "
                     f"{_interval(row.gain, '+.1%')} |")
    for m in comparison["matrices"]:
        lines += ["", f"**{m.benchmark}: cross-compression error at n = {m.n:,}** (rows: train level, columns: test "
                      f"level)", "", "| train \\ test | " + " | ".join(m.test_levels) + " |",
                  "|---|" + "---|" * len(m.test_levels)]
        lines += [f"| {lv} ({m.train_bytes[lv]:.0f} B) | " + " | ".join(f"{e:.4f}" for e in m.errors[i]) + " |"
                  for i, lv in enumerate(m.train_levels)]
    return "\n".join(lines)


def write_comparison(dirs: list[Path], out: Path, budgets: list[float] | None = None) -> tuple[dict[str, Any], Path]:
    """``comparison.json``, ``comparison.md`` and ``figures/error-vs-storage.png`` in ``out``; returns the comparison
    and the figure."""
    from storagebench.leaderboard.figures import tasks_storage_figure

    comparison = compare(dirs, budgets)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "comparison.json", {**as_json(comparison), "git_commit": git_commit()})
    write_text_atomic(out / "comparison.md", format_markdown(comparison) + "\n")
    return comparison, tasks_storage_figure(comparison, out / "figures" / "error-vs-storage.png")
