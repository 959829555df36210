"""Rankings at equal storage: for each board and each budget s of its benchmark definition, every entry's lowest
measured error among the real training sets that fit in s (grid cells with n·L ≤ s for every seed, and storage-curve
cells trained at s), its fitted prediction at the optimal allocation n*(s), the bytes its fit needs to reach a target
error, and ν, α, β with bootstrap intervals. A set's stored bytes include the decoder state the harness measured for
its level (a codec cannot store its pixels in its decoder for free), whether or not its benchmark counted them. The
baselines (``benchmarks/harness/baselines.py``) are ranked beside them."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from storagebench.benchmarks.harness.baselines import BASELINE_FORMATS
from storagebench.benchmarks.harness.cells import subset_key
from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.fit import law_from_dict
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError
from storagebench.leaderboard.sources import Board, display_name, entry_id


@dataclass(frozen=True)
class Measured:
    error: float
    source: str  # which real training set: "grid: 4, n = 1000" or "curve: optimal"
    n: float
    L: float


def _best(candidates: list[Measured]) -> Measured | None:
    return min(candidates, key=lambda m: (m.error, m.source), default=None)


def uncounted_decoder_bytes(entry: dict[str, Any], level: str) -> int:
    """Decoder bytes of ``level`` that its cells' stored bytes do not hold yet (a level the grid did not train,
    such as a searched one, gets the largest of the entry's levels)."""
    if entry["benchmark"]["config"]["compressor"].get("count_decoder_bytes"):
        return 0
    sizes = {lv["level"]: int(lv.get("decoder_bytes", 0)) for lv in entry["levels"]}
    return sizes.get(level, max(sizes.values(), default=0))


def _grid_candidates(entry: dict[str, Any], budget: float) -> list[Measured]:
    original = entry["benchmark"]["original_level"]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in entry["errors"]:
        if row["test_level"] == original:
            groups[(row["train_level"], row["n"])].append(row)
    return [Measured(float(np.mean([r["error"] for r in rows])), f"grid: level {level}, n = {n}", n,
                     float(np.mean([r["L"] for r in rows])))
            for (level, n), rows in groups.items()
            if max(r["n"] * r["L"] for r in rows) + uncounted_decoder_bytes(entry, level) <= budget]


def _curve_candidates(entry: dict[str, Any], budget: float) -> list[Measured]:
    original = entry["benchmark"]["original_level"]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in entry["curves"]:
        if math.isclose(row["budget"], budget) and row["test_level"] == original:
            groups[row["scheme"]].append(row)
    return [Measured(float(np.mean([r["error"] for r in rows])), f"curve: {scheme}",
                     float(np.mean([r["n"] for r in rows])), float(np.mean([r["bytes_per_image"] for r in rows])))
            for scheme, rows in groups.items()
            if max(r["bytes_total"] + uncounted_decoder_bytes(entry, r["level"]) for r in rows) <= budget]


def measured_best(entry: dict[str, Any], budget: float) -> Measured | None:
    return _best(_grid_candidates(entry, budget) + _curve_candidates(entry, budget))


def lossless_errors(board: Board) -> dict[tuple[int, int], float]:
    """Error of each (n, seed) trained on the original pixels, as the harness measured it for each entry's results
    dir (``benchmarks/harness/baselines.py``), never taken from an entry's own cells; pooled over the entries (identical
    pixels give identical models under one recipe; the mean covers machines where they differ by noise)."""
    pooled: dict[tuple[int, int], list[float]] = defaultdict(list)
    for entry in board.entries:
        for found in entry.get("baseline_errors", []):
            pooled[(found["n"], found["seed"])].append(found["error"])
    return {key: float(np.mean(values)) for key, values in pooled.items()}


def baseline_best(board: Board, label: str, budget: float) -> Measured | None:
    sizes = next((e["baselines"][label]["bytes_per_image"] for e in board.entries
                  if e.get("baselines") and label in e["baselines"]), None)
    errors = lossless_errors(board)
    if sizes is None or not errors:
        return None
    seeds = board.definition["seeds"]
    candidates = []
    for n in board.definition["n"]:
        keys = [subset_key(n, seed) for seed in seeds]
        if all(k in sizes for k in keys) and all((n, s) in errors for s in seeds) and \
                max(n * sizes[k] for k in keys) <= budget:
            candidates.append(Measured(float(np.mean([errors[(n, s)] for s in seeds])), f"lossless, n = {n}", n,
                                       float(np.mean([sizes[k] for k in keys]))))
    return _best(candidates)


def entry_law(entry: dict[str, Any]) -> ScalingLaw | None:
    fit = entry.get("fit")
    return law_from_dict(fit["params"]) if fit else None


def optimum(law: ScalingLaw | None, budget: float) -> tuple[float, float, float] | None:
    """(n*, L*, predicted error) at ``budget``, or None when the fit has no finite optimum."""
    if law is None:
        return None
    try:
        n_star = optimal_n(law, budget)
    except StorageBenchError:
        return None
    return n_star, budget / n_star, float(law.predict(n_star, budget / n_star))


def bytes_to_reach(law: ScalingLaw | None, target: float) -> float | None:
    """Smallest budget whose optimal allocation the fit predicts to reach ``target`` (None: never)."""
    if law is None or optimum(law, 1e3) is None or target <= law.e_star:
        return None
    lo, hi = 1.0, 1e18
    if optimum(law, hi)[2] > target:
        return None
    for _ in range(200):  # bisection in log s; the predicted optimum falls monotonically with s
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if optimum(law, mid)[2] <= target else (mid, hi)
        if hi / lo < 1.0001:
            break
    return hi


def _interval(entry: dict[str, Any], key: str) -> dict[str, float | None]:
    fit = entry.get("fit") or {}
    value = (fit.get("params") or {}).get(key)
    low, high = (fit.get("bootstrap") or {}).get(key) or (None, None)
    return {key: value, f"{key}_lo": low, f"{key}_hi": high}


def entry_row(entry: dict[str, Any], budget: float, to_target: float | None) -> dict[str, Any]:
    measured, law = measured_best(entry, budget), entry_law(entry)
    best = optimum(law, budget)
    claimed = entry.get("claimed", {}).get(f"{budget:g}")
    return {"kind": "entry", "id": entry_id(entry), "name": display_name(entry), "budget": budget,
            "measured_error": measured and measured.error, "measured_by": measured and measured.source,
            "measured_n": measured and measured.n, "measured_L": measured and measured.L,
            "predicted_error": best and best[2], "n_star": best and best[0], "L_star": best and best[1],
            "bytes_to_target": to_target,
            **_interval(entry, "nu"), **_interval(entry, "alpha"), **_interval(entry, "beta"),
            "claimed_error": claimed,
            "claimed_minus_measured": None if claimed is None or measured is None else claimed - measured.error}


def baseline_row(board: Board, label: str, budget: float) -> dict[str, Any]:
    measured = baseline_best(board, label, budget)
    return {"kind": "baseline", "id": label.replace(" ", "-"), "name": f"{label} ({BASELINE_FORMATS[label]}, lossless)",
            "budget": budget, "measured_error": measured and measured.error,
            "measured_by": measured.source if measured else "not measured: no grid subset fits, or no baseline "
                                                            "recorded",
            "measured_n": measured and measured.n, "measured_L": measured and measured.L}


def _sort_key(row: dict[str, Any]) -> tuple:
    error, predicted = row["measured_error"], row.get("predicted_error")
    return (error is None, error if error is not None else 0.0, predicted if predicted is not None else math.inf,
            row["name"])


def default_target(board: Board) -> tuple[float | None, str]:
    """The error to reach: what original format measures at the board's largest budget."""
    largest = max(board.budgets)
    original = baseline_best(board, "original format", largest)
    if original is not None:
        return original.error, f"original format's measured error at s = {largest:g}"
    return None, "no target: original format not measured at the largest budget (use --target)"


def rank_board(board: Board, target: float | None = None) -> dict[str, Any]:
    how = "given with --target"
    if target is None:
        target, how = default_target(board)
    to_target = [None if target is None else bytes_to_reach(entry_law(e), target) for e in board.entries]
    rankings = {}
    for budget in board.budgets:
        rows = sorted((entry_row(e, budget, t) for e, t in zip(board.entries, to_target)), key=_sort_key)
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank if row["measured_error"] is not None else None
        rankings[f"{budget:g}"] = {"entries": rows,
                                   "baselines": [baseline_row(board, label, budget) for label in BASELINE_FORMATS]}
    return {"task": board.task, "dataset": board.dataset, "title": board.title, "definition": board.definition,
            "budgets": board.budgets, "target_error": target, "target_from": how, "rankings": rankings}


def tasks_side_by_side(ranked: list[dict[str, Any]], boards: list[Board]) -> list[dict[str, Any]]:
    """Every board at every budget of any board: the leading entry's ν, n*, L* and predicted error, and the gain of
    the best measured set over original format where both were measured."""
    budgets = sorted({b for board in boards for b in board.budgets})
    rows = []
    for result, board in zip(ranked, boards):
        leader_id = result["rankings"][f"{max(board.budgets):g}"]["entries"][0]["id"]
        leader = next(e for e in board.entries if entry_id(e) == leader_id)
        law = entry_law(leader)
        for budget in budgets:
            best, original = measured_best(leader, budget), baseline_best(board, "original format", budget)
            at = optimum(law, budget)
            rows.append({"task": board.title, "budget": budget, "in_definition": budget in board.budgets,
                         "leader": display_name(leader), "nu": law.nu if law else None,
                         "n_star": at and at[0], "L_star": at and at[1], "predicted_error": at and at[2],
                         "best_measured": best and best.error, "original_format": original and original.error,
                         "gain_over_original": None if best is None or original is None
                         else 1 - best.error / original.error})
    return rows
